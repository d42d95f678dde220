# Das Layout um jede Seite: Navigation, Fußzeile, Sprachauswahl.
nav-skip = Zum Inhalt springen
nav-account = Konto
nav-sign-in = Anmelden
nav-sign-out = Abmelden
nav-create-account = Konto erstellen
language-picker-label = Sprache
