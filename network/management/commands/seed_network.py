from django.core.management.base import BaseCommand

import demodata
from network.demo import DEMO_SEED, network_seed


class Command(BaseCommand):
    help = (
        "Load the prospecting network that matches a generated Dynamics org (the emulator's), "
        "e.g. --size huge for the import benchmark. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=list(demodata.SIZES), default="demo")
        parser.add_argument("--seed", type=int, default=DEMO_SEED)

    def handle(self, *args, size: str, seed: int, **options):
        report = network_seed(size=size, seed=seed)
        for line in report.lines():
            self.stdout.write(line)
