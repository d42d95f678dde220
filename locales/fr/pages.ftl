# Pages hébergées. Les messages sont du texte brut (sans balisage) ; une phrase avec un lien est coupée autour du lien.

## Commun
field-username = Nom d’utilisateur
field-email = Adresse e-mail
field-password = Mot de passe
field-current-password = Mot de passe actuel
field-new-password = Nouveau mot de passe
field-new-password-again = Confirmez le nouveau mot de passe
field-display-name = Nom affiché
field-code-or-recovery = Code de votre application, ou code de récupération
password-hint = Au moins 8 caractères. Une longue phrase est facile à retenir et difficile à deviner.
action-cancel = Annuler
action-continue = Continuer
form-correct-one = Veuillez corriger le champ signalé ci-dessous.
form-correct-many = Veuillez corriger les { $count } champs signalés ci-dessous.

## Accueil
home-title = Bienvenue
home-signed-in-as = Vous êtes connecté en tant que
home-your-profile = Votre profil
home-tagline = Un seul compte pour les applications que vous utilisez.

## Connexion
login-title = Se connecter
login-username = Nom d’utilisateur ou adresse e-mail
login-submit = Se connecter
login-forgot = Mot de passe oublié ?
login-new-here = Nouveau ici ?
login-create-account = Créer un compte

## Inscription
register-title = Créer un compte
register-heading = Créer un compte
register-username-hint = De 3 à 32 lettres, chiffres, points, traits d’union ou tirets bas.
register-display-name = Nom affiché (facultatif)
register-submit = Créer le compte
register-have-account = Vous avez déjà un compte ?
register-sign-in = Se connecter

## Déconnexion
logout-title = Se déconnecter
logout-question = Voulez-vous vous déconnecter de Portcullis ?
logout-not-signed-in = Vous n’êtes pas connecté. Vous déconnecter à nouveau est sans conséquence.
end-session-heading = Se déconnecter ?
end-session-client-asks = { $client } demande à vous déconnecter de Portcullis.
end-session-app-asks = Une application demande à vous déconnecter de Portcullis.
end-session-stay = Rester connecté

## Réinitialisation du mot de passe
reset-title = Réinitialiser votre mot de passe
reset-intro = Saisissez l’adresse e-mail de votre compte. Nous vous enverrons un lien pour choisir un nouveau mot de passe.
reset-submit = Envoyer le lien
reset-back = Retour à la connexion
reset-confirm-title = Choisir un nouveau mot de passe
reset-confirm-submit = Enregistrer le nouveau mot de passe

## Authentification à deux facteurs
mfa-title = Authentification à deux facteurs
second-factor-heading = Saisissez votre code
second-factor-intro = Ouvrez votre application d’authentification et saisissez le code à 6 chiffres de ce compte. Appareil perdu ? Saisissez plutôt l’un de vos codes de récupération.
second-factor-code = Code
totp-title = Configurer l’authentification à deux facteurs
totp-step-scan = Scannez ce code avec une application d’authentification (par exemple FreeOTP, Aegis, Google Authenticator ou 1Password).
totp-step-enter = Saisissez le code à 6 chiffres affiché par l’application.
totp-cannot-scan = Impossible de scanner ? Saisissez cette clé dans l’application :
totp-show-link = Afficher le lien de configuration
totp-code = Code de l’application
totp-submit = Activer l’authentification à deux facteurs
codes-title = Codes de récupération
codes-heading-first = L’authentification à deux facteurs est activée
codes-heading-new = Vos nouveaux codes de récupération
codes-intro = Conservez ces codes de récupération en lieu sûr. Chacun fonctionne une fois, à la place d’un code de votre application, si vous perdez votre appareil. Ils ne sont affichés que maintenant.
codes-saved = Je les ai enregistrés

## Consentement
consent-title = Autoriser l’accès
consent-heading = { $client } souhaite utiliser votre compte
consent-intro = Si vous l’autorisez, { $client } obtiendra :
consent-allow = Autoriser
consent-deny = Refuser
consent-trust = N’autorisez que les applications en lesquelles vous avez confiance. Rien n’est partagé si vous refusez.

## Profil
profile-title = Votre profil
profile-unconfirmed = Votre adresse e-mail n’est pas encore confirmée. Suivez le lien que nous vous avons envoyé.
profile-send-new-link = Envoyer un nouveau lien
profile-pending-email = Votre nouvelle adresse { $address } attend sa confirmation. Suivez le lien que nous y avons envoyé.
profile-verified = confirmée
profile-not-verified = non confirmée
profile-member-since = Membre depuis
profile-display-name-hint = Visible par vous et par les applications auxquelles vous vous connectez.
profile-save-name = Enregistrer le nom
profile-change-password = Changer le mot de passe
profile-password-hint = Au moins 8 caractères.
profile-mfa-on-lead = L’authentification à deux facteurs est
profile-mfa-on-state = activée
profile-codes-left = { $count ->
    [one] Il vous reste 1 code de récupération inutilisé.
   *[other] Il vous reste { $count } codes de récupération inutilisés.
}
profile-mfa-move-hint = Vous changez de téléphone ou d’application ? L’actuelle continue de fonctionner jusqu’à la confirmation de la nouvelle.
profile-new-codes = Créer de nouveaux codes de récupération
profile-new-app = Configurer une nouvelle application d’authentification
profile-mfa-off = Désactiver l’authentification à deux facteurs
profile-mfa-intro = Protégez votre compte avec un code d’une application d’authentification en plus de votre mot de passe.
profile-change-email = Changer l’adresse e-mail
profile-new-email = Nouvelle adresse e-mail
profile-sessions = Où vous êtes connecté
profile-no-sessions = Aucune autre session.
profile-this-device = cet appareil
profile-signed-in-at = connecté le { $when }
profile-last-seen = vu pour la dernière fois le { $when }
profile-sign-out-others = Se déconnecter partout ailleurs
profile-apps = Applications connectées
profile-no-apps = Aucune application n’a accès à votre compte.
profile-app-can-use = Peut utiliser : { $scopes }
profile-app-since = depuis le { $when }
profile-remove-access = Retirer l’accès
profile-remove-access-of = de { $app }
profile-language-label = Langue des pages et des e-mails
profile-language-browser = Celle de mon navigateur
profile-language-save = Enregistrer la langue

## Pages à message unique
msg-home = Accueil
msg-go-to-profile = Aller à votre profil
msg-signed-out-title = Déconnecté
msg-signed-out = Vous êtes déconnecté.
msg-invalid-request-title = Demande de connexion invalide
msg-invalid-request = L’application qui vous a envoyé ici a fait une demande que ce serveur ne peut pas accepter ({ $error }). Retournez à l’application et réessayez ; si le problème persiste, prévenez son responsable.
msg-request-expired-title = Demande expirée
msg-request-expired = Cette demande d’autorisation n’est plus valable. Retournez à l’application et recommencez.
msg-check-inbox-title = Consultez votre boîte de réception
msg-check-inbox-register = Nous avons envoyé un message à l’adresse indiquée. Suivez le lien qu’il contient pour confirmer votre adresse, puis connectez-vous. Si vous ne le voyez pas d’ici quelques minutes, vérifiez vos courriers indésirables.
msg-check-inbox-reset = Si un compte existe pour cette adresse, nous lui avons envoyé un lien pour choisir un nouveau mot de passe. Le lien ne fonctionne qu’une fois et expire bientôt.
msg-recovery-used-title = Connecté avec un code de récupération
msg-recovery-used = Ce code de récupération est épuisé. Il vous en reste { $count }. Si vous n’avez plus votre application d’authentification, reconfigurez l’authentification à deux facteurs depuis votre profil.
msg-link-invalid-title = Lien non valable
msg-reset-link-invalid = Ce lien de réinitialisation est invalide, a déjà été utilisé ou a expiré. Demandez-en un nouveau.
msg-ask-new-link = Demander un nouveau lien
msg-password-changed-title = Mot de passe modifié
msg-password-changed = Votre mot de passe a été modifié et toutes les sessions ont été déconnectées. Connectez-vous avec le nouveau mot de passe.
msg-address-confirmed-title = Adresse confirmée
msg-address-confirmed = Merci : votre adresse e-mail est confirmée.
msg-address-changed-title = Adresse modifiée
msg-address-changed = Votre compte utilise désormais la nouvelle adresse e-mail. L’ancienne a été prévenue.
msg-email-link-invalid = Ce lien est invalide, a déjà été utilisé ou a expiré. Connectez-vous et demandez-en un nouveau depuis votre profil.
msg-address-in-use-title = Adresse déjà utilisée
msg-address-in-use = Cette adresse appartient désormais à un autre compte ; votre adresse n’a donc pas été modifiée.

## Avis du profil
notice-name-saved = Votre nom affiché a été enregistré.
notice-password-changed = Votre mot de passe a été modifié. Les autres sessions ont été déconnectées.
notice-email-link-sent = Nous avons envoyé un lien de confirmation à la nouvelle adresse. Votre adresse change lorsque vous le suivez.
notice-verification-sent = Nous vous avons envoyé un nouveau lien de confirmation.
notice-2fa-off = L’authentification à deux facteurs est désactivée.
notice-verification-throttled = Nous avons envoyé plusieurs liens au cours de la dernière heure. Veuillez utiliser le plus récent, ou réessayer plus tard.
notice-session-ended = Cette session a été déconnectée.
notice-session-gone = Cette session était déjà terminée.
notice-others-ended = Vous avez été déconnecté partout ailleurs. Cet appareil reste connecté.
notice-app-removed = L’accès de l’application a été retiré. Elle devra vous le redemander avant de pouvoir vous connecter.
notice-app-gone = Cette application n’avait plus accès à votre compte.
notice-language-saved = Votre langue a été enregistrée.

## Erreurs de champ
field-error-new-passwords-differ = Les deux nouveaux mots de passe ne correspondent pas.
field-error-passwords-differ = Les deux mots de passe ne correspondent pas.
field-error-current-password = Le mot de passe actuel n’est pas correct.
field-error-username-taken = Ce nom d’utilisateur est déjà pris. Choisissez-en un autre.
field-error-totp-setup-code = Ce code n’est pas valable. Vérifiez l’heure de votre appareil et saisissez le code actuel.

## Autorisations sur la page de consentement
scope-openid = Confirmer votre identité (l’identifiant de votre compte)
scope-profile = Votre nom et votre nom d’utilisateur
scope-email = Votre adresse e-mail et si elle est confirmée
scope-offline-access = Rester connecté lorsque vous n’êtes pas connecté ici
scope-api = Accéder à une API en votre nom

## Pages d’erreur
error-home-link = Aller à la page d’accueil
error-request-id = Identifiant de la requête :
