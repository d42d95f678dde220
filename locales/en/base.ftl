# The layout around every page: navigation, footer, language picker.
nav-skip = Skip to content
nav-account = Account
nav-sign-in = Sign in
nav-sign-out = Sign out
nav-create-account = Create account
language-picker-label = Language
