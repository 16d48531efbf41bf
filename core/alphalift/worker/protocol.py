"""The worker protocol, version 1: JSON lines on stdin/stdout; stderr carries logs only.

Requests (one JSON object a line; "id" is an integer, a string or null, unique among the requests
still queued or running):
    {"op": "hello", "protocol": 1}
    {"id": 7, "op": "remove", "image": {"path": P, "width": W, "height": H, "format": F,
                                          "linear": false, "flip": false},
     "options": {"model": NAME, "refine": true, "foreground": true, "alpha_format": "L8",
                 "foreground_format": "RGB8", "foreground_alpha": "opaque", "limit": P}}
        (limit, optional: an L8 selection at the image's size; outside it the alpha stays 1)
    {"id": 9, "op": "remove", "image": {"file": P}, "options": {..., "save": {"mask": P2, "foreground": P3},
                                                               "overwrite": false}}
        an encoded image file in, PNG files out (any of mask, foreground, rgba); replies "saved"
    Either kind may add "sequence": {"id": S, "frame": N, "start": false} to its options: frame N
        of the shot S, cut with temporal smoothing (see Sequence sessions below).
    Either kind may add "prompt": {"box": [x0, y0, x1, y1] or null, "include": [[x, y], ...],
        "exclude": [[x, y], ...]} (each key optional) to its options, saying what the subject is:
        it lies in the box (nothing outside it is kept; the model looks at the box's region at its
        own input size), include points are on it and exclude points off it (the region each falls
        in is added or removed; edges stay soft). Numbers are pixels of the image as the user sees
        it -- origin at the top-left corner, x right, y down -- even with "flip": true (the worker
        maps them); a box has x0 < x1 and y0 < y1 and lies within the image, a point lies within
        it (0 <= x < W, 0 <= y < H). Anything else is refused with "bad-prompt", naming the field
        (options.prompt.box, options.prompt.include, options.prompt.exclude), before any model
        runs: a raw image's prompt is checked with the request, a file image's once it is read.
        With "sequence" each frame may carry its own prompt (a keyframed box follows the subject).
    {"id": 8, "op": "download", "model": NAME}
    {"id": 7, "op": "cancel"}
    {"op": "shutdown"}       lets queued and running jobs finish, then exits. End of input
        (the host closed the pipe or died) instead cancels them and exits at once.

Replies:
    hello: {"ok": true, "protocol": 1, "version": V, "models": [{"name", "licence", "size", "cached",
        "default", "description"}, ...], "defaults": {"model": NAME, "licence": L, "licence_url": U,
        "description": D, "refine": true}} -- what a host shows as its defaults, so none restates them.
    {"id": 7, "event": "progress", "fraction": 0.4, "stage": "segment"} at each stage
        (load-model, segment, refine, done), then
    {"id": 7, "ok": true, "width": W, "height": H, "alpha": {"path": P, "format": "L8"},
     "foreground": {"path": P, "format": "RGB8", "alpha": "opaque"}}
    or {"id": 7, "ok": false, "error": {"code": "model-missing", "message": "... what to do ..."}}.
    A remove with "sequence" also replies "sequence": {"frame": N, "continued": C, "cut": K}: C
    whether the frame followed on from the session's previous one, K false only for a warm-up
    frame the session already held (see below).
Heartbeat: while a remove or download runs (a model loading or downloading included) the worker
    repeats its last progress event every HEARTBEAT_SECONDS with "heartbeat": true added (stage
    "start" before the first event, "download" for a download). A client may treat silence much
    longer than that as a frozen worker; an older client just sees the same progress again.

Validation: every request is checked whole before any work starts (worker/requests.py); a
malformed one gets {"ok": false, "error": {"code": "bad-request", ...}} (an id that is not an
integer, string or null is answered as null), a bad "prompt" "bad-prompt", a repeated id
"duplicate-id", and the worker goes on.

Pixels travel as raw files (row-major, no header, top row first; "flip": true says bottom row
first, as Blender stores images, for the input, the limit and both outputs alike).
    Input formats: PIXEL_FORMATS. "linear": float values are linear light.
    Alpha out ("alpha_format"): L8, L16 (little-endian) or F32 (little-endian float), one a pixel.
    Foreground out ("foreground_format"): RGB8 (default); RGBA8 (GIMP's R'G'B'A u8); BGRA8
        (Krita's 8-bit RGBA layers); RGBAF (float 0..1, Blender's image pixels). In the 4-channel
        layouts the alpha is 255 / 1.0 ("foreground_alpha": "opaque", for hosts that put the matte
        in a mask) or the matte itself ("matte": a cut-out ready to use).

Sequence sessions (worker/sessions.py; the CLI's `remove --sequence` mode, one frame a request):
    The worker keeps one session a sequence id (at most SEQUENCE_SESSIONS; the least recently
    used is dropped), each holding the temporal method's memory of the last frame it cut. A frame
    continues its session's shot when it is that frame's number + 1, with the same model and
    refine, and "start" is not true; anything else -- "start": true, a gap, a frame out of order,
    another model or refine, a session dropped or never made (a restarted worker), the previous
    frame having failed or been cancelled -- starts a new shot with it (a cut: its matte is the
    per-frame one). So frames first..last sent in order, the first with "start": true, give
    exactly what `alphalift remove FOLDER --sequence` gives for those frames.
    Warm-up: a file image with "sequence" and no "save" is cut into the session and nothing is
    written (the reply's "saved" is {}); if the session already ends on that very frame (same
    model, refine and prompt) it is not cut again ("cut": false). A change of prompt alone does
    not start a new shot. A host recomputing frames s..e of a shot
    sends frame s-1 as a warm-up first: after frames ..s-1 in this worker the shot goes on
    exactly as in a full run; otherwise frame s is smoothed against frame s-1 alone, as if the
    shot began at s-1 (close to a full run, not equal to it).

Files (the CLI's rules; worker/paths.py):
    Raw pixel files -- the image's "path" and the "limit" -- must lie directly inside a private
    folder the client made: named "alphalift-*", directly in the temporary folder (the worker's
    tempfile.gettempdir(), which the client hands it), a real folder (no link), owned by this user
    and closed to everyone else (mode 0700, as tempfile.mkdtemp makes it); else "forbidden-path".
    The worker writes its raw outputs beside the input, inside that folder, and the client, who
    made the folder, removes it. So a request can neither read a user's other files as pixels nor
    write raw data anywhere else.
    Saved PNGs never replace an input (compared after resolving links and dots) and replace an
    existing file only with "overwrite": true; else "output-exists". Two outputs may not share a
    file. Every file is written atomically (a temporary file renamed into place).

Transports: `alphalift serve --stdio` serves one client on stdin/stdout and ends with its input.
`alphalift serve --socket PATH [--idle-exit S]` (worker/listen.py) is one worker shared by many
clients, each connection speaking exactly this protocol; hello's reply names the worker's "pid".
Jobs run one at a time across connections, with one model cache for all. On a socket, shutdown
and the end of input end that connection only; the worker ends after S seconds (default 300)
with no connection, or, once its code was reinstalled, at the next connection (closed unanswered:
the client starts a fresh worker). PATH's folder must be the user's own with mode 0700 (else the
worker refuses to start, "unsafe-socket-folder"); the socket is 0600; a lock file beside it lets
one worker serve it, and a dead worker's socket is replaced.

Tests only: ALPHALIFT_TEST_PAUSE_AT=<stage> (hello, load-model, segment, refine, done) stops the
worker there (after that stage's progress event; "hello" before its reply) until the request is
cancelled, so a test can kill or freeze it at a known point.
"""
from __future__ import annotations

PROTOCOL = 1

# Input pixel formats: bytes per pixel and numpy dtype per channel. BGR(A) orders are what Krita's
# integer RGB layers hold; H formats are half floats (Krita's 16-bit float). "linear": true says
# float values are linear light (sRGB-encoded before the model sees them).
PIXEL_FORMATS = {
    "RGB8": (3, "u1"), "RGBA8": (4, "u1"), "L8": (1, "u1"), "LA8": (2, "u1"),
    "BGR8": (3, "u1"), "BGRA8": (4, "u1"),
    "RGB16": (6, "<u2"), "RGBA16": (8, "<u2"), "L16": (2, "<u2"), "LA16": (4, "<u2"),
    "BGR16": (6, "<u2"), "BGRA16": (8, "<u2"),
    "RGBH": (6, "<f2"), "RGBAH": (8, "<f2"), "LH": (2, "<f2"), "LAH": (4, "<f2"),
    "RGBF": (12, "<f4"), "RGBAF": (16, "<f4"), "LF": (4, "<f4"), "LAF": (8, "<f4"),
}
ALPHA_FORMATS = ("L8", "L16", "F32")
FOREGROUND_FORMATS = ("RGB8", "RGBA8", "BGRA8", "RGBAF")
FOREGROUND_ALPHAS = ("opaque", "matte")
SAVE_KINDS = ("mask", "foreground", "rgba")

OPS = ("hello", "remove", "download", "cancel", "shutdown")

HEARTBEAT_SECONDS = 1.0
SEQUENCE_SESSIONS = 4  # shots held at once (each holds one frame's grey image, probability, alpha)
MAX_SEQUENCE_ID = 200
PRIVATE_PREFIX = "alphalift-"  # the client's tempfile.mkdtemp(prefix=...)
