"""The worker's sequence sessions: one shot a host is cutting frame by frame (Blender's node with
Temporal smoothing), each a video.SequenceRemover kept between requests.

A session only goes on from the frame it last cut; whenever it cannot know that a frame follows
the one it holds (a gap, another model, a failed frame, a session dropped to bound memory) it
starts a new shot, which is never wrong, only less smooth. protocol.py states the rules.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .protocol import SEQUENCE_SESSIONS
from .requests import SequenceFrame

if TYPE_CHECKING:
    from ..pipeline import Remover
    from ..prompts import Prompt
    from ..video import SequenceRemover


@dataclass
class Session:
    runner: SequenceRemover
    model: str | None
    refine: bool
    size: tuple[int, int] | None = None
    last: int | None = None  # the frame the runner's memory is of; None: it holds nothing usable
    prompt: Prompt | None = None  # the prompt that frame was cut with

    def holds(self, frame: int, model: str | None, refine: bool, prompt: Prompt | None = None) -> bool:
        return self.last == frame and (self.model, self.refine, self.prompt) == (model, refine, prompt)

    def follows(self, frame: SequenceFrame, model: str | None, refine: bool,
                size: tuple[int, int]) -> bool:
        return (not frame.start and self.last is not None and frame.frame == self.last + 1
                and (self.model, self.refine, self.size) == (model, refine, size))


class Sessions:
    """At most ``limit`` sessions by id, the least recently used dropped first."""

    def __init__(self, remover: Remover, limit: int = SEQUENCE_SESSIONS) -> None:
        self.remover, self.limit = remover, limit
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def get(self, session_id: str) -> Session | None:
        session = self._sessions.get(session_id)
        if session is not None:
            self._sessions.move_to_end(session_id)
        return session

    def begin(self, frame: SequenceFrame, model: str | None, refine: bool,
              size: tuple[int, int]) -> tuple[Session, bool]:
        """The session to cut ``frame`` with, and whether the frame continues its shot. Until the
        cut succeeds (``done``) the session holds nothing usable."""
        session = self.get(frame.id)
        if session is not None and session.follows(frame, model, refine, size):
            session.last = None
            return session, True
        if session is None or (session.model, session.refine) != (model, refine):
            from ..video import SequenceRemover  # OpenCV: only once a host asks for a sequence

            session = Session(SequenceRemover(self.remover, model=model, refine=refine), model, refine)
            self._sessions[frame.id] = session
            while len(self._sessions) > self.limit:
                self._sessions.popitem(last=False)
        else:
            session.runner.new_shot()
            session.last = None
        session.size = size
        return session, False

    @staticmethod
    def done(session: Session, frame: SequenceFrame, prompt: Prompt | None = None) -> None:
        session.last, session.prompt = frame.frame, prompt
