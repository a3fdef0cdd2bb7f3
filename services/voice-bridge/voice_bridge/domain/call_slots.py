"""How many calls this bridge process runs at once.

A slot is taken when a call is placed (or an inbound call answered) and given back on the call's first
terminal status, whichever status that is: a call that ends busy or unanswered must not hold a slot
until some timeout. Releasing is idempotent because teardown paths overlap (the terminal webhook, the
media socket closing, a failed REST request) and each of them releases.
"""

from __future__ import annotations

from uuid import UUID


class CallSlots:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._held: set[UUID] = set()

    def try_acquire(self, call_id: UUID) -> bool:
        """Take a slot for `call_id`; False when all are in use. Re-acquiring a held slot is a no-op."""
        if call_id in self._held:
            return True
        if len(self._held) >= self.capacity:
            return False
        self._held.add(call_id)
        return True

    def release(self, call_id: UUID) -> bool:
        """Give the slot back; True if it was held, False if already released."""
        if call_id not in self._held:
            return False
        self._held.remove(call_id)
        return True

    @property
    def in_use(self) -> int:
        return len(self._held)

    @property
    def available(self) -> int:
        return self.capacity - len(self._held)
