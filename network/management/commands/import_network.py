from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from network.loading import FileFormatError, network_load, read_csv, read_json


class Command(BaseCommand):
    help = (
        "Load network companies or members from a CSV file (people: first_name, last_name, "
        "headline, company_name, email, profile_url; companies: name, domain, linkedin_url) or "
        'a JSON file ({"companies": [...], "people": [...]}). Bad rows are rejected and listed '
        "with their line and reason; the good ones are loaded. Loading twice changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--format", choices=["csv", "json"], help="Default: from the file's extension."
        )

    def handle(self, *args, file: Path, format: str | None, **options):  # noqa: A002
        file_format = format or file.suffix.lower().lstrip(".")
        if file_format not in ("csv", "json"):
            raise CommandError("Say --format csv or --format json (the extension does not).")
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from None
        try:
            if file_format == "csv":
                kind, rows = read_csv(text)
                report = network_load(**{kind: rows})
            else:
                report = network_load(**read_json(text))
        except FileFormatError as error:
            raise CommandError(str(error)) from None
        for line in report.lines():
            self.stdout.write(line)
