# La mise en page autour de chaque page : navigation, pied de page, choix de la langue.
nav-skip = Aller au contenu
nav-account = Compte
nav-sign-in = Se connecter
nav-sign-out = Se déconnecter
nav-create-account = Créer un compte
language-picker-label = Langue
