"""Helper processes the tests start (the SMTP sink, the fake Graph API): stopping them."""
import subprocess


def stop_process(process, timeout=10):
    """SIGTERM, and SIGKILL if it has not ended within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
