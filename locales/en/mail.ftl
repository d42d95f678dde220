# E-mail: subjects and bodies (html and text share these messages).
mail-hello = Hello { $name },
mail-or-open = Or open this link:

mail-verify-subject = Confirm your e-mail address
mail-verify-body = Please confirm your e-mail address by opening this link:
mail-verify-button = Confirm my address
mail-verify-expiry = The link works once and expires in { $hours } hours. If you did not ask for this, ignore this message.

mail-exists-subject = You already have an account
mail-exists-body = Someone tried to create a new account with this e-mail address, but it already belongs to your account. No new account was created.
mail-exists-if-you = If it was you:
mail-exists-sign-in = sign in here
mail-exists-reset = Forgotten your password? Reset it here
mail-exists-not-you = If it was not you, you can ignore this message.

mail-reset-subject = Reset your password
mail-reset-body = Someone (hopefully you) asked to reset the password of your account.
mail-reset-button = Choose a new password
mail-reset-expiry = The link works once and expires in { $minutes } minutes. If you did not ask for this, ignore this message: your password stays as it is.

mail-password-changed-subject = Your password was changed
mail-password-changed-body = The password of your account was just changed, and every other session was signed out.
mail-password-changed-not-you = If you did not do this, reset your password now and check your account:
mail-password-changed-reset = reset your password

mail-email-changed-subject = Your e-mail address was changed
mail-email-changed-body = The e-mail address of your account was changed to { $address }. Messages about your account now go there.
mail-email-changed-not-you = If you did not do this, contact your administrator at once.

mail-notice-subject = A security setting of your account changed
mail-notice-2fa-on = Two-factor authentication was turned on for your account.
mail-notice-2fa-off = Two-factor authentication was turned off for your account.
mail-notice-new-codes = New recovery codes were created for your account; the old ones no longer work.
mail-notice-admin-2fa-off = An administrator turned off two-factor authentication for your account. Set it up again from your profile.
mail-notice-not-you = If you did not do this, reset your password at once and contact your administrator.

mail-new-device-subject = New sign-in to your account
mail-new-device-body = Your account was just signed in to from a device it had not been used on before:
mail-new-device-device = Device:
mail-new-device-address = Address:
mail-new-device-time = Time:
mail-new-device-was-you = If this was you, there is nothing to do.
mail-new-device-not-you = If it was not, sign that session out and change your password on your profile, or reset your password:
mail-new-device-profile = open your profile
mail-notice-passkey-added = A passkey was added to your account.
mail-notice-passkey-removed = A passkey was removed from your account.
mail-notice-passkey-counter = One of your passkeys was used with a signature counter lower than before. This can mean the passkey was copied. If you did not just sign in, remove that passkey from your profile.
