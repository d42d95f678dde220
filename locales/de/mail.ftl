# E-Mails: Betreffzeilen und Texte (HTML- und Textfassung teilen sich diese Meldungen).
mail-hello = Hallo { $name },
mail-or-open = Oder öffnen Sie diesen Link:

mail-verify-subject = Bestätigen Sie Ihre E-Mail-Adresse
mail-verify-body = Bitte bestätigen Sie Ihre E-Mail-Adresse, indem Sie diesen Link öffnen:
mail-verify-button = Meine Adresse bestätigen
mail-verify-expiry = Der Link funktioniert einmal und läuft in { $hours } Stunden ab. Wenn Sie dies nicht angefordert haben, ignorieren Sie diese Nachricht.

mail-exists-subject = Sie haben bereits ein Konto
mail-exists-body = Jemand hat versucht, mit dieser E-Mail-Adresse ein neues Konto anzulegen, sie gehört aber bereits zu Ihrem Konto. Es wurde kein neues Konto angelegt.
mail-exists-if-you = Wenn Sie das waren:
mail-exists-sign-in = hier anmelden
mail-exists-reset = Passwort vergessen? Hier zurücksetzen
mail-exists-not-you = Wenn Sie das nicht waren, können Sie diese Nachricht ignorieren.

mail-reset-subject = Setzen Sie Ihr Passwort zurück
mail-reset-body = Jemand (hoffentlich Sie) hat darum gebeten, das Passwort Ihres Kontos zurückzusetzen.
mail-reset-button = Neues Passwort wählen
mail-reset-expiry = Der Link funktioniert einmal und läuft in { $minutes } Minuten ab. Wenn Sie dies nicht angefordert haben, ignorieren Sie diese Nachricht: Ihr Passwort bleibt unverändert.

mail-password-changed-subject = Ihr Passwort wurde geändert
mail-password-changed-body = Das Passwort Ihres Kontos wurde soeben geändert, und alle anderen Sitzungen wurden abgemeldet.
mail-password-changed-not-you = Wenn Sie das nicht waren, setzen Sie Ihr Passwort jetzt zurück und überprüfen Sie Ihr Konto:
mail-password-changed-reset = Passwort zurücksetzen

mail-email-changed-subject = Ihre E-Mail-Adresse wurde geändert
mail-email-changed-body = Die E-Mail-Adresse Ihres Kontos wurde in { $address } geändert. Nachrichten zu Ihrem Konto gehen jetzt dorthin.
mail-email-changed-not-you = Wenn Sie das nicht waren, wenden Sie sich sofort an Ihren Administrator.

mail-notice-subject = Eine Sicherheitseinstellung Ihres Kontos wurde geändert
mail-notice-2fa-on = Die Zwei-Faktor-Authentifizierung wurde für Ihr Konto eingeschaltet.
mail-notice-2fa-off = Die Zwei-Faktor-Authentifizierung wurde für Ihr Konto ausgeschaltet.
mail-notice-new-codes = Für Ihr Konto wurden neue Wiederherstellungscodes erstellt; die alten funktionieren nicht mehr.
mail-notice-admin-2fa-off = Ein Administrator hat die Zwei-Faktor-Authentifizierung für Ihr Konto ausgeschaltet. Richten Sie sie in Ihrem Profil wieder ein.
mail-notice-not-you = Wenn Sie das nicht waren, setzen Sie Ihr Passwort sofort zurück und wenden Sie sich an Ihren Administrator.

mail-new-device-subject = Neue Anmeldung bei Ihrem Konto
mail-new-device-body = Bei Ihrem Konto wurde soeben von einem Gerät aus angemeldet, das bisher nicht verwendet wurde:
mail-new-device-device = Gerät:
mail-new-device-address = Adresse:
mail-new-device-time = Zeit:
mail-new-device-was-you = Wenn Sie das waren, ist nichts zu tun.
mail-new-device-not-you = Wenn nicht, melden Sie diese Sitzung in Ihrem Profil ab und ändern Sie Ihr Passwort, oder setzen Sie Ihr Passwort zurück:
mail-new-device-profile = Profil öffnen
mail-notice-passkey-added = Ihrem Konto wurde ein Passkey hinzugefügt.
mail-notice-passkey-removed = Ein Passkey wurde aus Ihrem Konto entfernt.
mail-notice-passkey-counter = Einer Ihrer Passkeys wurde mit einem niedrigeren Signaturzähler als zuvor verwendet. Das kann bedeuten, dass der Passkey kopiert wurde. Wenn Sie sich nicht gerade angemeldet haben, entfernen Sie diesen Passkey in Ihrem Profil.
