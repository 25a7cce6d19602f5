import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from gridroll.demo import codes as demo_codes
from gridroll.demo import district
from gridroll.demo import feed as demo_feed
from gridroll.demo import planning as demo_planning
from gridroll.demo import sampling as demo_sampling
from gridroll.demo import staff as demo_staff


class Command(BaseCommand):
    help = "Build the demo district (东昌府区) with residents and one user per role; print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="delete everything in the database first")
        parser.add_argument("--scale", type=float, default=1.0, help="households per building, relative")

    def handle(self, *args, **options):
        started = time.monotonic()
        from gridroll.codes.cards import static_font_path

        static_font_path()  # the check sheet's PDF font, made once here rather than in the first request
        if options["reset"]:
            call_command("flush", "--noinput", verbosity=0)
        extra = None
        if district.is_loaded():
            self.stdout.write("The demo district is already loaded (use --reset to rebuild it).")
        else:
            counts = district.build(scale=options["scale"])
            extra = demo_codes.build(district.DISTRICT)
            demo_sampling.build(district.DISTRICT)
            demo_feed.build()
            demo_planning.build(district.DISTRICT)
            demo_staff.build(district.DISTRICT)
            self.stdout.write(
                f"Built {district.DISTRICT}: {counts['areas']} areas, {counts['buildings']} buildings, "
                f"{counts['households']} households, {counts['residents']} residents "
                f"({district.SEED_COMPOUND}: {counts['seed_households']} households, "
                f"{counts['seed_residents']} residents) in {time.monotonic() - started:.1f} s."
            )
        self.stdout.write("")
        self.stdout.write(
            "Open http://127.0.0.1:8000/ and log in as one of these (password for all: "
            f"{district.DEMO_PASSWORD}):"
        )
        for spec in district.USERS:
            self.stdout.write(f"  {spec.username:<10} {spec.full_name:<16} {spec.what}")
        user, name = demo_staff.STAFF_USER
        self.stdout.write(
            f"  {user:<10} {name:<16} staff member on shift: /staff/me/ (site access from the shift)"
        )
        self.stdout.write(f"  {'admin':<10} {'系统管理员':<16} superuser (also /admin/)")
        if extra:
            self.stdout.write(f"Codes: {extra['codes']} issued.")
        self.stdout.write("")
        self.stdout.write("Try these too:")
        for line in demo_codes.links("http://127.0.0.1:8000"):
            self.stdout.write(line)
