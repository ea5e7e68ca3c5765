"""`python -m app.cli`: the same as the `voicesurvey` command."""

from app.cli import main

main()
