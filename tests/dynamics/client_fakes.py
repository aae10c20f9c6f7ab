"""Fakes and constants shared by the dynamics client's unit tests."""

ORG = "https://org.example.test"
# ORG is not a Dynamics host: the client accepts it as the operator's exact exception.
ALLOWED = ("org.example.test",)
API = f"{ORG}/api/data/v9.2/"


class FakeTime:
    """A clock and a sleep that only move when the client sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class CountingAuth:
    """StaticTokenAuth that records force_refresh calls and hands out a new token each refresh."""

    def __init__(self):
        self.refreshes = 0

    def access_token(self, *, force_refresh: bool = False) -> str:
        if force_refresh:
            self.refreshes += 1
        return f"token-{self.refreshes}"
