"""A Policy loaded in a background thread, so a protocol engine answers at once.

`gopolicy gtp` must reply to `name` before torch has even been imported; `gopolicy
analysis` must print its ready line at once. This module imports neither torch nor
gopolicy.policy until the loader thread runs.
"""

import logging
import threading

log = logging.getLogger(__name__)


class NetworkUnavailable(RuntimeError):
    """The network could not be loaded; str() says why and what to do (the --weights option)."""


class LazyPolicy:
    """gopolicy.policy.Policy(weights, device, symmetries), loaded in a background thread.

    `evaluate` waits for the load; a load error is logged once and raised by every later call.
    """

    def __init__(self, weights=None, device: str = "auto", symmetries: int = 1):
        self._args = (weights, device, symmetries)
        self._policy = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._load, name="policy-load", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            from gopolicy.policy import Policy

            weights, device, symmetries = self._args
            self._policy = Policy(weights, device=device, symmetries=symmetries)
            self._policy.warm_up()  # the first forward pass sets up oneDNN: pay it here, not in genmove
            log.info("policy loaded on %s", self._policy.device)
        except BaseException as error:  # said once here, then to each command that needs the net
            self._error = error
            log.error("%s", self._unavailable_text())
        finally:
            self._ready.set()

    def _unavailable_text(self) -> str:
        reason = (str(self._error).strip().splitlines() or [type(self._error).__name__])[0]
        return (f"cannot load the network: {reason}; "
                "start gopolicy with --weights FILE naming a .safetensors weights file")

    def get(self):
        """Return the loaded Policy; raises NetworkUnavailable if loading failed."""
        self._ready.wait()
        if self._error is not None:
            raise NetworkUnavailable(self._unavailable_text()) from self._error
        return self._policy

    def evaluate(self, position):
        """Return the PolicyMap of `position` (waits for the load); raises NetworkUnavailable."""
        return self.get().evaluate(position)
