# Gehostete Seiten. Meldungen sind reiner Text (kein Markup); ein Satz mit Link wird um den Link herum geteilt.

## Gemeinsam
field-username = Benutzername
field-email = E-Mail-Adresse
field-password = Passwort
field-current-password = Aktuelles Passwort
field-new-password = Neues Passwort
field-new-password-again = Neues Passwort wiederholen
field-display-name = Anzeigename
field-code-or-recovery = Code aus Ihrer App oder ein Wiederherstellungscode
password-hint = Mindestens 8 Zeichen. Ein langer Satz ist leicht zu merken und schwer zu erraten.
action-cancel = Abbrechen
action-continue = Weiter
form-correct-one = Bitte korrigieren Sie das unten markierte Feld.
form-correct-many = Bitte korrigieren Sie die { $count } unten markierten Felder.

## Startseite
home-title = Willkommen
home-signed-in-as = Sie sind angemeldet als
home-your-profile = Ihr Profil
home-tagline = Ein Konto für die Anwendungen, die Sie nutzen.

## Anmelden
login-title = Anmelden
login-username = Benutzername oder E-Mail-Adresse
login-submit = Anmelden
login-forgot = Passwort vergessen?
login-new-here = Neu hier?
login-create-account = Konto erstellen

## Registrieren
register-title = Konto erstellen
register-heading = Ein Konto erstellen
register-username-hint = 3 bis 32 Buchstaben, Ziffern, Punkte, Bindestriche oder Unterstriche.
register-display-name = Anzeigename (optional)
register-submit = Konto erstellen
register-have-account = Sie haben bereits ein Konto?
register-sign-in = Anmelden

## Abmelden
logout-title = Abmelden
logout-question = Möchten Sie sich von Portcullis abmelden?
logout-not-signed-in = Sie sind nicht angemeldet. Sich erneut abzumelden schadet nicht.
end-session-heading = Abmelden?
end-session-client-asks = { $client } bittet darum, Sie von Portcullis abzumelden.
end-session-app-asks = Eine Anwendung bittet darum, Sie von Portcullis abzumelden.
end-session-stay = Angemeldet bleiben

## Passwort zurücksetzen
reset-title = Passwort zurücksetzen
reset-intro = Geben Sie die E-Mail-Adresse Ihres Kontos ein. Wir senden Ihnen einen Link, mit dem Sie ein neues Passwort wählen können.
reset-submit = Link senden
reset-back = Zurück zur Anmeldung
reset-confirm-title = Neues Passwort wählen
reset-confirm-submit = Neues Passwort festlegen

## Zwei-Faktor-Authentifizierung
mfa-title = Zwei-Faktor-Authentifizierung
second-factor-heading = Code eingeben
second-factor-intro = Öffnen Sie Ihre Authentifizierungs-App und geben Sie den 6-stelligen Code für dieses Konto ein. Gerät verloren? Geben Sie stattdessen einen Ihrer Wiederherstellungscodes ein.
second-factor-code = Code
totp-title = Zwei-Faktor-Authentifizierung einrichten
totp-step-scan = Scannen Sie diesen Code mit einer Authentifizierungs-App (zum Beispiel FreeOTP, Aegis, Google Authenticator oder 1Password).
totp-step-enter = Geben Sie den 6-stelligen Code ein, den die App anzeigt.
totp-cannot-scan = Scannen nicht möglich? Geben Sie diesen Schlüssel in der App ein:
totp-show-link = Einrichtungslink anzeigen
totp-code = Code aus der App
totp-submit = Zwei-Faktor-Authentifizierung einschalten
codes-title = Wiederherstellungscodes
codes-heading-first = Die Zwei-Faktor-Authentifizierung ist eingeschaltet
codes-heading-new = Ihre neuen Wiederherstellungscodes
codes-intro = Bewahren Sie diese Wiederherstellungscodes an einem sicheren Ort auf. Jeder funktioniert einmal anstelle eines Codes aus Ihrer App, falls Sie Ihr Gerät verlieren. Sie werden nur jetzt angezeigt.
codes-saved = Ich habe sie gespeichert

## Zustimmung
consent-title = Zugriff erlauben
consent-heading = { $client } möchte Ihr Konto verwenden
consent-intro = Wenn Sie zustimmen, erhält { $client }:
consent-allow = Erlauben
consent-deny = Ablehnen
consent-trust = Erlauben Sie nur Anwendungen, denen Sie vertrauen. Wenn Sie ablehnen, wird nichts weitergegeben.

## Profil
profile-title = Ihr Profil
profile-unconfirmed = Ihre E-Mail-Adresse ist noch nicht bestätigt. Folgen Sie dem Link, den wir Ihnen gesendet haben.
profile-send-new-link = Neuen Link senden
profile-pending-email = Ihre neue Adresse { $address } wartet auf Bestätigung. Folgen Sie dem Link, den wir dorthin gesendet haben.
profile-verified = bestätigt
profile-not-verified = nicht bestätigt
profile-member-since = Mitglied seit
profile-display-name-hint = Wird Ihnen und den Anwendungen angezeigt, bei denen Sie sich anmelden.
profile-save-name = Namen speichern
profile-change-password = Passwort ändern
profile-password-hint = Mindestens 8 Zeichen.
profile-mfa-on-lead = Die Zwei-Faktor-Authentifizierung ist
profile-mfa-on-state = eingeschaltet
profile-codes-left = { $count ->
    [one] Sie haben noch 1 unbenutzten Wiederherstellungscode.
   *[other] Sie haben noch { $count } unbenutzte Wiederherstellungscodes.
}
profile-mfa-move-hint = Wechseln Sie zu einem neuen Telefon oder einer neuen App? Die bisherige funktioniert weiter, bis die neue bestätigt ist.
profile-new-codes = Neue Wiederherstellungscodes erstellen
profile-new-app = Neue Authentifizierungs-App einrichten
profile-mfa-off = Zwei-Faktor-Authentifizierung ausschalten
profile-mfa-intro = Schützen Sie Ihr Konto zusätzlich zu Ihrem Passwort mit einem Code aus einer Authentifizierungs-App.
profile-change-email = E-Mail-Adresse ändern
profile-new-email = Neue E-Mail-Adresse
profile-sessions = Wo Sie angemeldet sind
profile-no-sessions = Keine weiteren Sitzungen.
profile-this-device = dieses Gerät
profile-signed-in-at = angemeldet { $when }
profile-last-seen = zuletzt gesehen { $when }
profile-sign-out-others = Überall sonst abmelden
profile-apps = Verbundene Apps
profile-no-apps = Keine App hat Zugriff auf Ihr Konto.
profile-app-can-use = Darf verwenden: { $scopes }
profile-app-since = seit { $when }
profile-remove-access = Zugriff entfernen
profile-remove-access-of = von { $app }
profile-language-label = Sprache der Seiten und E-Mails
profile-language-browser = Wie mein Browser angibt
profile-language-save = Sprache speichern

## Seiten mit einer Meldung
msg-home = Startseite
msg-go-to-profile = Zu Ihrem Profil
msg-signed-out-title = Abgemeldet
msg-signed-out = Sie sind abgemeldet.
msg-invalid-request-title = Ungültige Anmeldeanfrage
msg-invalid-request = Die Anwendung, die Sie hierher geschickt hat, hat eine Anfrage gestellt, die dieser Server nicht annehmen kann ({ $error }). Gehen Sie zurück zur Anwendung und versuchen Sie es noch einmal; wenn es wieder passiert, informieren Sie deren Betreiber.
msg-request-expired-title = Anfrage abgelaufen
msg-request-expired = Diese Zustimmungsanfrage ist nicht mehr gültig. Gehen Sie zurück zur Anwendung und beginnen Sie von vorn.
msg-check-inbox-title = Sehen Sie in Ihrem Posteingang nach
msg-check-inbox-register = Wir haben eine Nachricht an die angegebene Adresse gesendet. Folgen Sie dem Link darin, um Ihre Adresse zu bestätigen, und melden Sie sich dann an. Wenn Sie sie nicht innerhalb weniger Minuten sehen, sehen Sie in Ihrem Spam-Ordner nach.
msg-check-inbox-reset = Falls es ein Konto mit dieser Adresse gibt, haben wir ihm einen Link gesendet, mit dem Sie ein neues Passwort wählen können. Der Link funktioniert einmal und läuft bald ab.
msg-recovery-used-title = Mit einem Wiederherstellungscode angemeldet
msg-recovery-used = Dieser Wiederherstellungscode ist verbraucht. Sie haben noch { $count }. Wenn Sie Ihre Authentifizierungs-App nicht mehr haben, richten Sie die Zwei-Faktor-Authentifizierung in Ihrem Profil neu ein.
msg-link-invalid-title = Link ungültig
msg-reset-link-invalid = Dieser Link zum Zurücksetzen des Passworts ist ungültig, wurde bereits verwendet oder ist abgelaufen. Fordern Sie einen neuen an.
msg-ask-new-link = Neuen Link anfordern
msg-password-changed-title = Passwort geändert
msg-password-changed = Ihr Passwort wurde geändert, und alle Sitzungen wurden abgemeldet. Melden Sie sich mit dem neuen Passwort an.
msg-address-confirmed-title = Adresse bestätigt
msg-address-confirmed = Vielen Dank: Ihre E-Mail-Adresse ist bestätigt.
msg-address-changed-title = Adresse geändert
msg-address-changed = Ihr Konto verwendet jetzt die neue E-Mail-Adresse. Die alte Adresse wurde benachrichtigt.
msg-email-link-invalid = Dieser Link ist ungültig, wurde bereits verwendet oder ist abgelaufen. Melden Sie sich an und fordern Sie in Ihrem Profil einen neuen an.
msg-address-in-use-title = Adresse vergeben
msg-address-in-use = Diese Adresse gehört inzwischen zu einem anderen Konto, daher wurde Ihre Adresse nicht geändert.

## Hinweise im Profil
notice-name-saved = Ihr Anzeigename wurde gespeichert.
notice-password-changed = Ihr Passwort wurde geändert. Andere Sitzungen wurden abgemeldet.
notice-email-link-sent = Wir haben einen Bestätigungslink an die neue Adresse gesendet. Ihre Adresse ändert sich, sobald Sie ihm folgen.
notice-verification-sent = Wir haben Ihnen einen neuen Bestätigungslink gesendet.
notice-2fa-off = Die Zwei-Faktor-Authentifizierung ist ausgeschaltet.
notice-verification-throttled = Wir haben in der letzten Stunde mehrere Links gesendet. Bitte verwenden Sie den neuesten oder versuchen Sie es später noch einmal.
notice-session-ended = Diese Sitzung wurde abgemeldet.
notice-session-gone = Diese Sitzung war bereits beendet.
notice-others-ended = Sie wurden überall sonst abgemeldet. Dieses Gerät bleibt angemeldet.
notice-app-removed = Der Zugriff der App wurde entfernt. Sie muss Sie erneut fragen, bevor sie Sie anmelden kann.
notice-app-gone = Diese App hatte keinen Zugriff mehr auf Ihr Konto.
notice-language-saved = Ihre Sprache wurde gespeichert.

## Feldfehler
field-error-new-passwords-differ = Die beiden neuen Passwörter stimmen nicht überein.
field-error-passwords-differ = Die beiden Passwörter stimmen nicht überein.
field-error-current-password = Das aktuelle Passwort ist nicht korrekt.
field-error-username-taken = Dieser Benutzername ist vergeben. Wählen Sie einen anderen.
field-error-totp-setup-code = Dieser Code ist ungültig. Prüfen Sie die Uhrzeit auf Ihrem Gerät und geben Sie den aktuellen Code ein.

## Berechtigungen auf der Zustimmungsseite
scope-openid = Bestätigen, wer Sie sind (Ihre Konto-ID)
scope-profile = Ihr Name und Benutzername
scope-email = Ihre E-Mail-Adresse und ob sie bestätigt ist
scope-offline-access = Verbunden bleiben, wenn Sie hier nicht angemeldet sind
scope-api = Zugriff auf eine API in Ihrem Namen

## Fehlerseiten
error-home-link = Zur Startseite
error-request-id = Anfrage-ID:
