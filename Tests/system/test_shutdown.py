"""Shutdown is bounded: `facegate serve` exits within SHUTDOWN_TIMEOUT_SECONDS of SIGTERM, whatever its database client
does. Rounds after the service has sat idle past the database pool's idle timeout (60 s; postgres-nio's keep-alive
query, which hung shutdowns, was due every 30 s before it was turned off), and a round under load."""

import signal
import threading
import time


BOUND = 10


def some_traffic(service):
    token = service.token()
    for _ in range(5):
        assert service.api("GET", "/members?limit=5", token=token).status == 200
        assert service.request("GET", "/ready").status == 200


def stop_within_bound(service):
    """SIGTERM; the seconds until the process exited and its exit status (None: still running after twice the bound)."""
    sent = time.monotonic()
    service.process.send_signal(signal.SIGTERM)
    try:
        status = service.process.wait(2 * BOUND)
    except Exception:
        status = None
    return time.monotonic() - sent, status


def test_sigterm_after_sitting_idle_past_the_pool_timeouts_exits_within_the_bound(services):
    # Three instances at once: three rounds for the price of one idle wait.
    rounds = [services.start(env={"SHUTDOWN_TIMEOUT_SECONDS": BOUND}) for _ in range(3)]
    for service in rounds:
        some_traffic(service)
    time.sleep(65)
    for service in rounds:  # one more use after the idle time, so connections are opened and closed again
        assert service.request("GET", "/ready").status == 200
    time.sleep(1)
    stops = [stop_within_bound(service) for service in rounds]
    print(f"\nSIGTERM after 65 s idle: exited after {', '.join(f'{s:.2f} s (status {c})' for s, c in stops)}")
    assert all(status is not None and seconds <= BOUND + 1 for seconds, status in stops), stops
    assert all(status == 0 for _, status in stops), stops


def test_sigterm_under_load_answers_what_it_accepted_and_exits_within_the_bound(services):
    service = services.start(env={"SHUTDOWN_TIMEOUT_SECONDS": BOUND})
    token = service.token()
    outcomes, running = [], True

    def client():
        while running:
            try:
                outcomes.append(service.api("GET", "/members?limit=5", token=token, timeout=2 * BOUND).status)
            except OSError as error:  # refused or reset once the server has stopped accepting
                outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    seconds, status = stop_within_bound(service)
    running = False
    for thread in threads:
        thread.join(2 * BOUND)
    answered = [o for o in outcomes if isinstance(o, int)]
    print(f"\nSIGTERM under load: exited after {seconds:.2f} s (status {status}); {len(answered)} requests answered "
          f"{sorted(set(answered))}, then {sorted({o for o in outcomes if not isinstance(o, int)})}")
    assert status is not None and seconds <= BOUND + 1, (seconds, status)
    assert answered and all(code == 200 for code in answered), sorted(set(answered))
    assert not any(thread.is_alive() for thread in threads)
