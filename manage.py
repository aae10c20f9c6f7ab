#!/usr/bin/env python
"""Django's command-line utility for the CRM Sync portal."""

import os
import sys

# Commands that read only the code (models, migrations) need no secrets: on a fresh checkout
# with nothing configured they run with the local dev settings instead of refusing to start.
CODE_ONLY_COMMANDS = {"makemigrations", "check", "help", "version", "--help", "--version"}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if command in CODE_ONLY_COMMANDS and not os.environ.get("DJANGO_SECRET_KEY"):
        os.environ.setdefault("DJANGO_DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
