# E-mails : objets et textes (les versions HTML et texte partagent ces messages).
mail-hello = Bonjour { $name },
mail-or-open = Ou ouvrez ce lien :

mail-verify-subject = Confirmez votre adresse e-mail
mail-verify-body = Veuillez confirmer votre adresse e-mail en ouvrant ce lien :
mail-verify-button = Confirmer mon adresse
mail-verify-expiry = Le lien ne fonctionne qu’une fois et expire dans { $hours } heures. Si vous n’êtes pas à l’origine de cette demande, ignorez ce message.

mail-exists-subject = Vous avez déjà un compte
mail-exists-body = Quelqu’un a essayé de créer un nouveau compte avec cette adresse e-mail, mais elle appartient déjà à votre compte. Aucun nouveau compte n’a été créé.
mail-exists-if-you = Si c’était vous :
mail-exists-sign-in = connectez-vous ici
mail-exists-reset = Mot de passe oublié ? Réinitialisez-le ici
mail-exists-not-you = Si ce n’était pas vous, vous pouvez ignorer ce message.

mail-reset-subject = Réinitialisez votre mot de passe
mail-reset-body = Quelqu’un (vous, espérons-le) a demandé la réinitialisation du mot de passe de votre compte.
mail-reset-button = Choisir un nouveau mot de passe
mail-reset-expiry = Le lien ne fonctionne qu’une fois et expire dans { $minutes } minutes. Si vous n’êtes pas à l’origine de cette demande, ignorez ce message : votre mot de passe reste inchangé.

mail-password-changed-subject = Votre mot de passe a été modifié
mail-password-changed-body = Le mot de passe de votre compte vient d’être modifié, et toutes les autres sessions ont été déconnectées.
mail-password-changed-not-you = Si vous n’êtes pas à l’origine de ce changement, réinitialisez votre mot de passe maintenant et vérifiez votre compte :
mail-password-changed-reset = réinitialiser votre mot de passe

mail-email-changed-subject = Votre adresse e-mail a été modifiée
mail-email-changed-body = L’adresse e-mail de votre compte a été remplacée par { $address }. Les messages concernant votre compte y sont désormais envoyés.
mail-email-changed-not-you = Si vous n’êtes pas à l’origine de ce changement, contactez immédiatement votre administrateur.

mail-notice-subject = Un paramètre de sécurité de votre compte a changé
mail-notice-2fa-on = L’authentification à deux facteurs a été activée pour votre compte.
mail-notice-2fa-off = L’authentification à deux facteurs a été désactivée pour votre compte.
mail-notice-new-codes = De nouveaux codes de récupération ont été créés pour votre compte ; les anciens ne fonctionnent plus.
mail-notice-admin-2fa-off = Un administrateur a désactivé l’authentification à deux facteurs de votre compte. Réactivez-la depuis votre profil.
mail-notice-not-you = Si vous n’êtes pas à l’origine de ce changement, réinitialisez immédiatement votre mot de passe et contactez votre administrateur.

mail-new-device-subject = Nouvelle connexion à votre compte
mail-new-device-body = Une connexion à votre compte vient d’avoir lieu depuis un appareil qui n’avait encore jamais été utilisé :
mail-new-device-device = Appareil :
mail-new-device-address = Adresse :
mail-new-device-time = Heure :
mail-new-device-was-you = Si c’était vous, vous n’avez rien à faire.
mail-new-device-not-you = Sinon, déconnectez cette session et changez votre mot de passe depuis votre profil, ou réinitialisez votre mot de passe :
mail-new-device-profile = ouvrir votre profil
mail-notice-passkey-added = Une clé d’accès a été ajoutée à votre compte.
mail-notice-passkey-removed = Une clé d’accès a été retirée de votre compte.
mail-notice-passkey-counter = L’une de vos clés d’accès a été utilisée avec un compteur de signature inférieur au précédent. Cela peut signifier qu’elle a été copiée. Si vous ne venez pas de vous connecter, retirez cette clé d’accès depuis votre profil.
