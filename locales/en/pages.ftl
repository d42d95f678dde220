# Hosted pages. Messages are plain text (no markup); a sentence with a link is split around it.

## Shared
field-username = Username
field-email = E-mail address
field-password = Password
field-current-password = Current password
field-new-password = New password
field-new-password-again = New password again
field-display-name = Display name
field-code-or-recovery = Code from your app, or a recovery code
password-hint = At least 8 characters. A long phrase is easy to remember and hard to guess.
action-cancel = Cancel
action-continue = Continue
form-correct-one = Please correct the field marked below.
form-correct-many = Please correct the { $count } fields marked below.

## Home
home-title = Welcome
home-signed-in-as = You are signed in as
home-your-profile = Your profile
home-tagline = One account for the applications you use.

## Sign in
login-title = Sign in
login-username = Username or e-mail address
login-submit = Sign in
login-forgot = Forgot your password?
login-new-here = New here?
login-create-account = Create an account

## Register
register-title = Create account
register-heading = Create an account
register-username-hint = 3 to 32 letters, digits, dots, hyphens or underscores.
register-display-name = Display name (optional)
register-submit = Create account
register-have-account = Already have an account?
register-sign-in = Sign in

## Sign out
logout-title = Sign out
logout-question = Do you want to sign out of Portcullis?
logout-not-signed-in = You are not signed in. Signing out again does no harm.
end-session-heading = Sign out?
end-session-client-asks = { $client } asks to sign you out of Portcullis.
end-session-app-asks = An application asks to sign you out of Portcullis.
end-session-stay = Stay signed in

## Password reset
reset-title = Reset your password
reset-intro = Enter the e-mail address of your account. We will send you a link to choose a new password.
reset-submit = Send the link
reset-back = Back to sign in
reset-confirm-title = Choose a new password
reset-confirm-submit = Set the new password

## Two-factor authentication
mfa-title = Two-factor authentication
second-factor-heading = Enter your code
second-factor-intro = Open your authenticator app and enter the 6-digit code for this account. Lost your device? Enter one of your recovery codes instead.
second-factor-code = Code
totp-title = Set up two-factor authentication
totp-step-scan = Scan this code with an authenticator app (for example FreeOTP, Aegis, Google Authenticator or 1Password).
totp-step-enter = Enter the 6-digit code the app shows.
totp-cannot-scan = Cannot scan? Enter this key in the app:
totp-show-link = Show the setup link
totp-code = Code from the app
totp-submit = Turn on two-factor authentication
codes-title = Recovery codes
codes-heading-first = Two-factor authentication is on
codes-heading-new = Your new recovery codes
codes-intro = Keep these recovery codes somewhere safe. Each works once, in place of a code from your app, if you lose your device. They are shown only now.
codes-saved = I have saved them

## Consent
consent-title = Allow access
consent-heading = { $client } wants to use your account
consent-intro = If you allow it, { $client } will get:
consent-allow = Allow
consent-deny = Deny
consent-trust = Only allow applications you trust. Nothing is shared if you deny.

## Profile
profile-title = Your profile
profile-unconfirmed = Your e-mail address is not confirmed yet. Follow the link we sent you.
profile-send-new-link = Send a new link
profile-pending-email = Waiting for confirmation of your new address { $address }. Follow the link we sent there.
profile-verified = verified
profile-not-verified = not verified
profile-member-since = Member since
profile-display-name-hint = Shown to you and to the applications you sign in to.
profile-save-name = Save name
profile-change-password = Change password
profile-password-hint = At least 8 characters.
profile-mfa-on-lead = Two-factor authentication is
profile-mfa-on-state = on
profile-codes-left = { $count ->
    [one] You have 1 unused recovery code.
   *[other] You have { $count } unused recovery codes.
}
profile-mfa-move-hint = Moving to a new phone or app? The current one keeps working until the new one is confirmed.
profile-new-codes = Create new recovery codes
profile-new-app = Set up a new authenticator app
profile-mfa-off = Turn off two-factor authentication
profile-mfa-intro = Protect your account with a code from an authenticator app in addition to your password.
profile-change-email = Change e-mail address
profile-new-email = New e-mail address
profile-sessions = Where you're signed in
profile-no-sessions = No other sessions.
profile-this-device = this device
profile-signed-in-at = signed in { $when }
profile-last-seen = last seen { $when }
profile-sign-out-others = Sign out everywhere else
profile-apps = Connected apps
profile-no-apps = No apps have access to your account.
profile-app-can-use = Can use: { $scopes }
profile-app-since = since { $when }
profile-remove-access = Remove access
profile-remove-access-of = of { $app }
profile-language-label = Language of pages and e-mails
profile-language-browser = As my browser says
profile-language-save = Save language

## Error pages
error-home-link = Go to the home page
error-request-id = Request id:

## One-message pages
msg-home = Home
msg-go-to-profile = Go to your profile
msg-signed-out-title = Signed out
msg-signed-out = You are signed out.
msg-invalid-request-title = Invalid sign-in request
msg-invalid-request = The application that sent you here made a request this server cannot accept ({ $error }). Go back to the application and try again; if it keeps happening, tell its owner.
msg-request-expired-title = Request expired
msg-request-expired = This approval request is no longer valid. Go back to the application and start again.
msg-check-inbox-title = Check your inbox
msg-check-inbox-register = We sent a message to the address you gave. Follow the link in it to confirm your address, then sign in. If you do not see it within a few minutes, look in your spam folder.
msg-check-inbox-reset = If an account exists for that address, we have sent it a link to choose a new password. The link works once and expires soon.
msg-recovery-used-title = Signed in with a recovery code
msg-recovery-used = That recovery code is used up. You have { $count } left. If you no longer have your authenticator app, set up two-factor authentication again from your profile.
msg-link-invalid-title = Link not valid
msg-reset-link-invalid = This password-reset link is invalid, was already used, or has expired. Ask for a new one.
msg-ask-new-link = Ask for a new link
msg-password-changed-title = Password changed
msg-password-changed = Your password was changed and every session was signed out. Sign in with the new password.
msg-address-confirmed-title = Address confirmed
msg-address-confirmed = Thank you: your e-mail address is confirmed.
msg-address-changed-title = Address changed
msg-address-changed = Your account now uses the new e-mail address. The old one was told.
msg-email-link-invalid = This link is invalid, was already used, or has expired. Sign in and ask for a new one from your profile.
msg-address-in-use-title = Address in use
msg-address-in-use = This address now belongs to another account, so your address was not changed.

## Profile notices
notice-name-saved = Your display name was saved.
notice-password-changed = Your password was changed. Other sessions were signed out.
notice-email-link-sent = We sent a confirmation link to the new address. Your address changes when you follow it.
notice-verification-sent = We sent you a new confirmation link.
notice-2fa-off = Two-factor authentication is off.
notice-verification-throttled = We have sent several links in the last hour. Please use the newest one, or try again later.
notice-session-ended = That session was signed out.
notice-session-gone = That session had already ended.
notice-others-ended = You were signed out everywhere else. This device stays signed in.
notice-app-removed = The app's access was removed. It will have to ask you again before it can sign you in.
notice-app-gone = That app no longer had access to your account.
notice-language-saved = Your language was saved.

## Field errors
field-error-new-passwords-differ = The two new passwords do not match.
field-error-passwords-differ = The two passwords do not match.
field-error-current-password = The current password is not correct.
field-error-username-taken = This username is taken. Choose another.
field-error-totp-setup-code = That code is not valid. Check the time on your device and enter the current code.

## Scopes on the consent page
scope-openid = Confirm who you are (your account id)
scope-profile = Your name and username
scope-email = Your e-mail address and whether it is confirmed
scope-offline-access = Stay connected when you are not signed in here
scope-api = Access to an API on your behalf
