"""How a request tells the delivery loop that a message is waiting, so that it need not wait for its next poll."""

import asyncio


class OutboxSignal:
    """A doorbell: any number of rings before the loop looks count as one, and none is lost.

    Only the loop of this process hears it; another process finds the message at its next poll.
    """

    def __init__(self) -> None:
        self._rung = asyncio.Event()

    def ring(self) -> None:
        self._rung.set()

    async def wait(self, seconds: float) -> None:
        """Returns when rung (at once if rung since the last wait) or after `seconds`."""
        try:
            await asyncio.wait_for(self._rung.wait(), seconds)
        except TimeoutError:
            return
        finally:
            self._rung.clear()
