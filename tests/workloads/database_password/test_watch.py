"""The rotation watcher's rules, with time, signals and the secret injected."""

from __future__ import annotations

import signal

from workloads.database_password.secret import DatabaseSecret, SecretUnavailable
from workloads.database_password.watch import Watch


class Service:
    """Stands for the service process: signals received, and whether it still runs."""

    def __init__(self, *, stops_on_term: bool = True) -> None:
        self.signals: list[int] = []
        self.running = True
        self.stops_on_term = stops_on_term

    def kill(self, pid: int, sig: int) -> None:
        assert pid == 4242
        self.signals.append(sig)
        if sig == signal.SIGKILL or self.stops_on_term:
            self.running = False


def versions(*names: str | Exception):
    answers = iter(names)

    def read() -> DatabaseSecret:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return DatabaseSecret(answer, "platform", f"password-of-{answer}")

    return read


def watch(service: Service, read, slept: list[float], said: list[str], **kwargs) -> Watch:
    return Watch(
        started_with="v1",
        read=read,
        pid=4242,
        every_s=60.0,
        stop_grace_s=5.0,
        sleep=slept.append,
        kill=service.kill,
        service_alive=lambda: service.running,
        say=said.append,
        **kwargs,
    )


def test_an_unchanged_secret_never_stops_the_service() -> None:
    service, slept, said = Service(), [], []
    w = watch(service, versions("v1", "v1", "v1"), slept, said, first_delay_s=7.0)

    assert [w.rotated() for _ in range(3)] == [False, False, False]
    assert service.signals == [] and said == []


def test_a_rotation_stops_the_service_once_with_sigterm() -> None:
    service, slept, said = Service(), [], []
    w = watch(service, versions("v1", "v1", "v2"), slept, said, first_delay_s=7.0)

    assert w.run() == "rotated"

    assert service.signals == [signal.SIGTERM]
    assert slept[:3] == [7.0, 60.0, 60.0]  # first check after the offset, then every minute
    assert "secret version v1 -> v2" in said[0]
    assert "password-of" not in " ".join(said)  # a password is never printed


def test_a_service_that_ignores_sigterm_is_killed_after_the_grace() -> None:
    service, slept, said = Service(stops_on_term=False), [], []
    w = watch(service, versions("v2"), slept, said, first_delay_s=0.0)

    w.run()

    assert service.signals == [signal.SIGTERM, signal.SIGKILL]
    assert sum(slept) == 5.0  # the grace, in seconds


def test_a_failed_check_keeps_the_service_running() -> None:
    service, slept, said = Service(), [], []
    failure = SecretUnavailable("Secrets Manager refused: ThrottlingException")
    w = watch(service, versions(failure, "v1"), slept, said)

    assert w.rotated() is False
    assert w.rotated() is False
    assert service.signals == []
    assert "could not check for a rotation" in said[0] and "ThrottlingException" in said[0]


def test_the_watch_ends_with_the_service() -> None:
    service, slept, said = Service(), [], []
    w = watch(service, versions("v1", "v1"), slept, said, first_delay_s=1.0)

    def stop_after_two(seconds: float) -> None:
        slept.append(seconds)
        service.running = len(slept) < 2

    w.sleep = stop_after_two
    assert w.run() == "service ended"
    assert service.signals == []


def test_instances_check_at_a_random_point_of_the_first_interval() -> None:
    firsts = set()
    for _ in range(20):
        service, slept, said = Service(), [], []
        w = watch(service, versions("v2"), slept, said)
        w.run()
        firsts.add(slept[0])
    assert all(0 <= f <= 60.0 for f in firsts) and len(firsts) > 1
