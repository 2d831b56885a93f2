"""Every workaround for what moto does not do, in one place.

The local runtime relies on moto (pinned in the ``local`` extra) for S3, DynamoDB, SQS,
EventBridge and Step Functions. Where moto stops short of AWS, the gap is bridged here, and
``tests/local/test_moto_compat.py`` pins each behaviour relied on, so a moto upgrade that
changes one fails a test instead of the pipeline:

1. Lambda: moto's Lambda backend needs Docker. A botocore ``before-call`` handler answers
   every ``lambda:Invoke`` in-process (see :class:`LambdaDispatch`), as botocore's Stubber
   does, for our clients and for the clients moto's Step Functions interpreter creates.
2. Step Functions: executions run only with ``execute_state_machine``; state machines must
   be created through the Step Functions API (moto's CloudFormation puts them in a backend
   that does not execute).
3. EventBridge: moto matches S3 ``Object Created`` events against rules but never invokes
   Lambda targets. Each such rule gets an extra SQS target (a tap); the runtime drains the
   tap and delivers to the rule's Lambda targets itself (see :class:`EventTap`).
4. Scheduled rules never fire in moto: the runtime invokes their targets on request.
5. Distributed Map: moto parses only a float ``ToleratedFailurePercentage`` and never
   enforces it; :class:`MapTolerance` writes it as a float and reports a non-zero one, which
   is 0 locally (a failed child fails the map). moto also rejects ``ItemBatcher``; the
   constructs use none (each child gets the key of an object, never rows).
6. Threads: moto runs each execution in a thread of its own, and its backends are not safe
   for a read that copies an item while another thread updates it ("dictionary changed size
   during iteration"). :func:`serialize_requests` makes moto answer one request at a time.
7. S3 CopyObject from the state machine: AWS takes ``CopySource`` URL-encoded, as the
   failure branch passes it; moto's interpreter calls S3 through botocore, which encodes a
   string ``CopySource`` once more. While installed, :class:`CopySourceDecoding` decodes it
   first, so the copy reaches the same key it does on AWS.
8. S3 object bodies: moto read an aws-chunked request body (botocore sends PutObject and
   UploadPart bodies so, with a CRC32 trailer) by appending 1 MiB chunk after chunk to one
   growing bytes object, and decoded the chunks the same way: an n MiB body cost about
   n**2 / 2 MiB of copying, twice (a 100 MB PutObject took 7 s of CPU). It also scanned
   each body for the checksum trailer with a regular expression, copied each body into
   memory before spooling it to a file, read it back for its MD5, and completed a multipart
   upload with four copies of the object, spooled to a file once more. :func:`lean_s3_bodies`
   replaces those functions with ones that produce the same bytes, ETags, checksums and
   errors in linear time, with one copy of each body: in memory while the process holds
   less than :data:`S3_MEMORY_BUDGET` (64 MiB) of bodies over 5 MiB, then on file as moto
   keeps them all (a write to a new temporary file cost more than the part's MD5). The
   handlers send each body with its CRC32 in a header instead (no aws-chunked framing);
   such a body reaches moto as the bytes it was sent as, and is stored as those bytes.
   moto stores a header checksum but does not check it against the body, as S3 does.
9. Distributed Map S3 listings: moto's ``ListObjectsV2`` item reader read one page's
   ``Contents``, so an empty listing failed the map (``KeyError``) and keys past the first
   1,000 were lost; :func:`whole_s3_listings` pages through the listing, empty or not.
10. Step Functions execution status change events: moto's Step Functions sends none to
   EventBridge. :class:`ExecutionStatusEvents` puts one on the default bus for each
   execution that ended FAILED, TIMED_OUT or ABORTED, once, shaped as Step Functions sends
   it; moto matches it against the rules' patterns, and the runtime delivers it through
   the rule's tap like any other event. (moto's ListExecutions can report a stopped
   execution as SUCCEEDED; its DescribeExecution says ABORTED, which is what is sent.
   moto also ends an execution stopped during a task that then fails as FAILED with the
   task's error, where AWS ends it ABORTED at once.)
11. S3 GetObject bodies: moto answered each GetObject with the whole object read into
   memory (``FakeKey.value``: the key's file read whole), ranged or not, then sliced the
   range out of it: a whole-object GET of an n MiB object held n MiB at once, and reading
   an object in ranges cost the object's size per range. While a GetObject is answered, a
   key of :data:`LAZY_BODY_SIZE` or more gives a :class:`_KeyBody` instead, which reads
   from the key's buffer only what is asked for: the range moto slices, or the stream
   botocore reads chunk by chunk (:func:`lazy_s3_reads`). With it, object bodies over
   :data:`S3_MEMORY_BUDGET` live on file and cost no memory to read.
12. Event patterns: moto does not implement EventBridge's ``TestEventPattern``;
   :func:`pattern_matches` asks moto's own matcher (the one that routes events to rules),
   so the runtime can tell at once that a file would start no job.
13. S3 part ETags: moto takes the MD5 of every body it stores, the largest cost of storing
   the parts the steps upload. The ETag of an uploaded part larger than moto's memory
   buffer (5 MiB) is its :func:`content_etag` instead (CRC32 and size, in an MD5's shape):
   equal parts still get equal ETags, and a multipart object's ETag is still the MD5 of
   its parts' ETags with the part count, whose value S3 does not document as a digest of
   the data. An object put in one request keeps its MD5 ETag, as on S3 without SSE-KMS.
   A part sent with its CRC32 in a header (the handlers send every part so) gets the ETag
   of that CRC32, not one taken again: the handler has just computed it over the same
   bytes. moto does not check a declared checksum (S3 refuses a part that does not match
   it); a wrong one shows when the object is read, in the full-object CRC32 the SDK checks.
14. botocore's data files: every botocore session loads the service models and endpoint
   files it needs (tens of milliseconds each), and moto (its EC2 regions, loaded with the
   Step Functions interpreter, its backends) and the handlers each make sessions of their
   own. :func:`shared_botocore_data` gives sessions on the default data path one loader,
   so each file is read once per process.
15. Step Functions definitions: moto parses a definition with its ANTLR grammar when the
   state machine is created (to validate it) and again for every execution, about a second
   for the pipeline's in a fresh process. :class:`ParsedDefinitions` keeps what the parser
   made of each definition (pickled), in memory and, given a folder (the runtime gives the
   synth's cache entry), on disk for the next run with the same moto and Python: a
   definition parsed before is valid, and each execution gets its own copy of the parse.
16. Imports: moto's Step Functions interpreter imports ``moto.batch.utils`` for one enum,
   and the package's ``__init__`` loads moto's Batch backend and with it all of moto's EC2
   (instance types, regions: most of a second). :func:`deferred_batch_package` puts the
   package in place without running its ``__init__``, which runs when something else of
   the package is first asked for (moto's Batch backend, if a state machine calls Batch).
17. Export: a run copies its outputs out of the bucket. GetObject through the SDK copies
   each body out of moto chunk by chunk and checks its CRC32 on the way;
   :func:`copy_object_to` writes the latest version's body from moto's store instead (a
   body on file is copied by the kernel, ``os.sendfile``).
18. Object version ids: moto draws a random id for every put, and nothing survives between
   two CLI commands; :func:`restore_version_id` gives a source uploaded again the version id
   the job records of an earlier run name (``etl-pipeline reprocess`` and ``redrive``).
19. Multipart objects on file: moto kept every part past the memory budget in a file of its
   own, so an export copied the object part by part (the object written twice: into moto,
   then into the output). Such parts of one upload are appended to one unnamed file
   (``O_TMPFILE``, in :data:`SPOOL_DIRECTORY`) instead, each part a window on it
   (:class:`_UploadFile`); an object that lists them all, in the order they came, is the
   whole file, and :func:`copy_object_to` links it into place (``os.link`` of
   ``/proc/self/fd``) where the target is on the same file system, copying otherwise. The
   linked output and moto's object are one file then, which moto never writes again.
20. S3 request routing: moto finds the handler of every S3 request in its S3 backend's
   ``urls``, which reloads the module ``moto.s3.urls`` each time (its URLs depend on the
   environment variable ``MOTO_S3_CUSTOM_ENDPOINTS``) and formats them all again: a tenth
   of the cost of a small PutObject (the curated dataset puts hundreds per job).
   :func:`cached_s3_urls` keeps the table per value of the variables it depends on.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import hashlib
import importlib.util
import io
import json
import os
import pickle
import re
import sys
import tempfile
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_plus

import boto3
import botocore.handlers
from botocore.awsrequest import AWSResponse
from botocore.response import StreamingBody
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}}
_INVOKE_EVENT = "before-call.lambda.Invoke"

#: (function name or ARN, payload, invocation type) -> (payload, function error or None)
InvokeHandler = Callable[[str, bytes, str], tuple[bytes, "str | None"]]


def start_mock() -> Any:
    """Start moto with the Step Functions interpreter switched on, one request at a time."""
    shared_botocore_data()
    deferred_batch_package()
    serialize_requests()
    lean_s3_bodies()
    lazy_s3_reads()
    whole_s3_listings()
    cached_s3_urls()
    mock = mock_aws(config=MOTO_CONFIG)
    mock.start()
    return mock


def shared_botocore_data() -> None:
    """Let every botocore session on the default data path share one loader (see 14.).

    The loader caches what it reads per instance; a session made later (sessions build
    their loader when first asked) reads nothing another one already did. Idempotent.
    """
    import botocore.loaders
    import botocore.session

    if "create_loader" in MOTO_ORIGINALS:
        return
    create_loader = MOTO_ORIGINALS["create_loader"] = botocore.session.create_loader
    shared: list[Any] = []

    def one_loader(search_path_string: str | None = None) -> Any:
        if search_path_string is not None:  # AWS_DATA_PATH set: as botocore does
            return create_loader(search_path_string)
        if not shared:
            shared.append(botocore.loaders.Loader())
        return shared[0]

    botocore.session.create_loader = one_loader  # type: ignore[assignment]


def deferred_batch_package() -> None:
    """Import ``moto.batch`` without its ``__init__`` until it is needed (see 16.).

    Idempotent; nothing to do once the package is imported."""
    if "moto.batch" in sys.modules:
        return
    spec = importlib.util.find_spec("moto.batch")
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    package = sys.modules["moto.batch"] = _DeferredPackage(spec)
    import moto

    moto.batch = package  # type: ignore[attr-defined]  # as an import sets it on its parent


class _DeferredPackage(types.ModuleType):
    """A package whose ``__init__`` runs when one of its names is first asked for; its
    submodules import meanwhile (the import system needs only its ``__path__``)."""

    def __init__(self, spec: Any) -> None:
        super().__init__(spec.name)
        self.__spec__ = spec
        self.__loader__ = spec.loader
        self.__file__ = spec.origin
        self.__package__ = spec.name
        self.__path__ = list(spec.submodule_search_locations)
        self._etl_lock = threading.RLock()
        self._etl_ran = False

    def __getattr__(self, name: str) -> Any:  # only for names the package lacks so far
        if name.startswith("__") or name.startswith("_etl_"):
            raise AttributeError(name)
        with self._etl_lock:
            if not self._etl_ran:
                self._etl_ran = True
                self.__spec__.loader.exec_module(self)
        return object.__getattribute__(self, name)


class ParsedDefinitions:
    """What moto's Step Functions parser made of each definition (see 15. above)."""

    #: where parses are kept between runs; None: in memory only
    directory: Path | None = None
    _pickled: dict[str, bytes] = {}  # one per process, as moto's backends are
    _lock = threading.Lock()

    @classmethod
    def install(cls) -> None:
        """Patch moto's validation and its executions' parse to ask here first. Idempotent;
        imports moto's Step Functions interpreter (a second)."""
        if "parse" in MOTO_ORIGINALS:
            return
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend

        parse = AmazonStateLanguageParser.parse
        validate = StepFunctionsParserBackend._validate_definition
        entrypoint = ExecutionWorker._get_evaluation_entrypoint
        MOTO_ORIGINALS.update(parse=parse, validate=validate, entrypoint=entrypoint)

        def parse_and_keep(definition: str) -> Any:
            # raises for an invalid one: nothing kept
            program, tree = MOTO_ORIGINALS["parse"](definition)
            cls._keep(definition, program)
            return program, tree

        def validate_unless_parsed(definition: str) -> None:
            if cls.program(definition) is None:
                validate(definition)

        def parsed_entrypoint(self: Any) -> Any:
            definition = self._evaluation_details.state_machine_details.definition
            program = cls.program(definition)
            return program if program is not None else entrypoint(self)

        AmazonStateLanguageParser.parse = staticmethod(parse_and_keep)  # type: ignore[method-assign]
        StepFunctionsParserBackend._validate_definition = staticmethod(validate_unless_parsed)  # type: ignore[method-assign]
        ExecutionWorker._get_evaluation_entrypoint = parsed_entrypoint  # type: ignore[method-assign]

    @classmethod
    def program(cls, definition: str) -> Any:
        """A new copy of the parse of ``definition``, None if it was never parsed."""
        digest = _definition_digest(definition)
        with cls._lock:
            pickled = cls._pickled.get(digest)
        if pickled is None and cls.directory is not None:
            with contextlib.suppress(OSError):
                pickled = (cls.directory / f"asl-{digest}.pickle").read_bytes()
        if pickled is None:
            return None
        try:
            program = pickle.loads(pickled)  # noqa: S301 - written by this code, in the project
        except Exception:  # a damaged file: parse again
            return None
        with cls._lock:
            cls._pickled[digest] = pickled
        return program

    @classmethod
    def _keep(cls, definition: str, program: Any) -> None:
        try:
            pickled = pickle.dumps(program, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # a parse that does not pickle is parsed each time
            return
        digest = _definition_digest(definition)
        with cls._lock:
            cls._pickled[digest] = pickled
        if cls.directory is not None:
            target = cls.directory / f"asl-{digest}.pickle"
            staging = target.with_name(f".{target.name}.{os.getpid()}")
            with contextlib.suppress(OSError):
                staging.write_bytes(pickled)
                staging.replace(target)


def _definition_digest(definition: str) -> str:
    """The key of a parse: the definition, the moto release and the Python that made it."""
    from moto import __version__ as moto_version

    text = f"{moto_version}\0{sys.version}\0{definition}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


_REQUESTS = threading.RLock()


def serialize_requests() -> None:
    """Let moto's request handler (every intercepted AWS call) run in one thread at a time.

    Re-entrant, and held only while moto answers one request: a Lambda task, dispatched
    before moto sees the call, runs outside it.
    """
    stubber = BotocoreStubber
    if getattr(stubber.__call__, "_etl_serialized", False):
        return
    unlocked = stubber.__call__

    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _REQUESTS:
            return unlocked(self, *args, **kwargs)

    locked._etl_serialized = True  # type: ignore[attr-defined]
    stubber.__call__ = locked  # type: ignore[method-assign]


#: how much of an aws-chunked request body is read at a time (botocore's chunk size)
_BODY_READ_SIZE = 1024 * 1024

#: How many bytes of object bodies larger than moto's memory buffer (5 MiB) are kept in
#: memory all the same; past it they are spooled to temporary files, as moto does with all
#: (read back lazily, see 11.: a file body costs page cache, not the process's memory).
S3_MEMORY_BUDGET = 64 * 1024 * 1024

#: GetObject bodies of at least this many bytes are read from the key as they are consumed.
LAZY_BODY_SIZE = 8 * 1024 * 1024

#: moto's and botocore's own functions replaced here, by name (for the tests that
#: compare the replacements with them)
MOTO_ORIGINALS: dict[str, Callable[..., Any]] = {}


def lean_s3_bodies() -> None:
    """Move S3 object bodies through moto in linear time and fewer copies (see 8. above).

    Each of these moto functions is replaced by one with the same result:

    - ``Request.from_primitives`` reads an ``AwsChunkedWrapper`` body in bounded reads
      instead of one ``read()`` (which appends every chunk to one growing bytes object),
      and gives the request those bytes, or a body sent as bytes, as its data (werkzeug
      would copy them from the request's input stream a few KiB at a time), unless the
      request is a form (werkzeug parses those);
    - ``S3Response._handle_encoded_body`` joins the decoded chunks once instead of
      appending each to the result;
    - ``S3Response._get_checksum`` is handed the body from the checksum trailer on, found
      with ``bytes.find`` first (moto's regular expression scans the whole body for it),
      when moto would search the body (no checksum header);
    - the ``FakeKey.value`` setter keeps a body larger than moto's memory buffer in memory,
      as the bytes object it arrived as (moto copied it into a buffer, and copied it out
      again on every read), while the process holds less than :data:`S3_MEMORY_BUDGET`
      bytes of such bodies, and
      writes it to the buffer's file at once past it (moto wrote every such body to memory
      first, then all of it to a file), and takes the MD5 for the ETag from the body in hand,
      not read back from the file;
    - ``FakeMultipart.complete`` makes the object of the parts' buffers instead of copying
      them into a new one (moto read every part twice, copied the object four times for
      the object and its checksum, then spooled it to a file again), and takes a CRC32
      full-object checksum part by part;
    - ``FakeMultipart.set_part`` gives a part larger than moto's memory buffer its
      :func:`content_etag` instead of its MD5 (see 13.), from the CRC32 the request
      declares when it declares one (``S3Response.upload_part`` hands it over).

    Idempotent.
    """
    if "from_primitives" in MOTO_ORIGINALS:  # its own entries: other patches keep theirs
        return
    from moto.core import request as moto_request
    from moto.s3 import models as s3_models
    from moto.s3.responses import S3Response

    request_class = moto_request.Request
    from_primitives = request_class.from_primitives.__func__  # type: ignore[attr-defined]
    chunked = moto_request.AwsChunkedWrapper

    def read_then_build(cls: Any, method: str, url: str, headers: Any, body: Any = None) -> Any:
        if isinstance(body, chunked):
            data = read_all(body)
        elif isinstance(body, io.BytesIO):  # a bytes Body as botocore sends it
            data = body.read()  # whole from the start: the bytes it was made of, no copy
        elif isinstance(body, bytes) and body:
            data = body
        else:
            return from_primitives(cls, method, url, headers, body)
        request = from_primitives(cls, method, url, headers, data)
        if request.mimetype not in _FORM_TYPES:
            # what request.data would read back from its input stream, 64 KiB at a time
            request._cached_data = data
        return request

    value = s3_models.FakeKey.value
    get_checksum = S3Response._get_checksum
    MOTO_ORIGINALS.update(
        from_primitives=from_primitives,
        handle_encoded_body=S3Response._handle_encoded_body,
        get_checksum=get_checksum,
        set_value=value.fset,  # type: ignore[attr-defined]
        complete=s3_models.FakeMultipart.complete,
        set_part=s3_models.FakeMultipart.set_part,
    )

    def find_trailer_then_get_checksum(self: Any, response_headers: dict[str, Any]) -> Any:
        raw = self.raw_body
        algorithm = self.headers.get("x-amz-sdk-checksum-algorithm", "")
        if self.headers.get(f"x-amz-checksum-{algorithm.lower()}") or not algorithm:
            return get_checksum(self, response_headers)  # moto searches no body then
        if isinstance(raw, bytes) and (start := raw.find(_TRAILER_PREFIX)) >= 0:
            found = _TRAILER.search(raw, start)
            if found:  # the first match of moto's search: moto finds it again at once
                self.raw_body = raw[found.start() :]
        try:
            return get_checksum(self, response_headers)
        finally:
            self.raw_body = raw

    upload_part = S3Response.upload_part
    MOTO_ORIGINALS["upload_part"] = upload_part

    def upload_part_declaring(self: Any) -> Any:
        _PART.declared = self.headers.get("x-amz-checksum-crc32")
        try:
            return upload_part(self)
        finally:
            _PART.declared = None

    request_class.from_primitives = classmethod(read_then_build)  # type: ignore[assignment]
    S3Response.upload_part = upload_part_declaring  # type: ignore[method-assign]
    S3Response._handle_encoded_body = _decode_aws_chunked  # type: ignore[method-assign]
    S3Response._get_checksum = find_trailer_then_get_checksum  # type: ignore[method-assign]
    s3_models.FakeKey.value = value.setter(_set_value)  # type: ignore[attr-defined]
    s3_models.FakeMultipart.complete = _complete_multipart  # type: ignore[method-assign]
    s3_models.FakeMultipart.set_part = _set_part  # type: ignore[method-assign]


#: the checksum trailer of an aws-chunked body, as moto's ``S3Response._get_checksum``
#: searches for it (with ``re.search``, which walks the body byte by byte to its end)
_TRAILER = re.compile(rb"x-amz-checksum-\w+:(.+={1,2})")
_TRAILER_PREFIX = b"x-amz-checksum-"

#: the content types werkzeug parses as a form (it reads their bodies itself)
_FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


def read_all(stream: Any, size: int = _BODY_READ_SIZE) -> bytes:
    """Everything left in ``stream``, read ``size`` bytes at a time and joined once."""
    parts = []
    while chunk := stream.read(size):
        parts.append(chunk)
    return b"".join(parts)


def _decode_aws_chunked(self: Any, body: Any) -> bytes:
    """moto's ``S3Response._handle_encoded_body``, joining the chunks once.

    Each chunk is its length in hex on a line, the data, and a line end; a zero length
    ends the data (the trailer with the checksum follows, ignored as moto ignores it).
    """
    if not body:
        return b""
    if not isinstance(body, bytes):
        body = body.read()
    view = memoryview(body)
    parts = []
    line_end = body.index(b"\n") + 1
    length = int(body[:line_end].strip(), 16)
    while length > 0:
        parts.append(view[line_end : line_end + length])
        line_end = body.index(b"\n", line_end + length) + 1  # the rest of the data's line
        start, line_end = line_end, body.index(b"\n", line_end) + 1
        length = int(body[start:line_end].strip(), 16)
    return b"".join(parts)


def _set_value(self: Any, new_value: bytes | str | _JoinedParts) -> None:
    """moto's ``FakeKey.value`` setter: a body larger than moto's memory buffer is kept in
    memory within the budget (:class:`_HeldInMemory`), else written to the buffer's file at
    once; a key without an ETag yet gets the MD5 of the body in hand (moto's ``etag``
    computes the same when first asked, reading the body back), or its
    :func:`content_etag` if it is a part larger than the buffer (see 13.). A completed multipart
    upload's body (:class:`_JoinedParts`) becomes the key's buffer as it is."""
    from moto.s3 import models as s3_models

    buffer = self._value_buffer
    if isinstance(new_value, _JoinedParts | _FileWindow):
        buffer.close()
        self._value_buffer = new_value
        self.contentsize = new_value.size
        if self._etag is None:
            self._etag = s3_models.md5_hash(new_value.read_at(0, new_value.size)).hexdigest()
        return
    if isinstance(new_value, str):
        new_value = new_value.encode("utf-8")
    size = len(new_value)
    buffer.close()  # empty when moto has just made it; a new buffer suits the body's size
    upload = getattr(_PART, "upload", None) if getattr(_PART, "active", False) else None
    # once an upload has a file, all its parts go there (its last, small one too)
    spooled = upload is not None and _UploadFile.has(upload)
    if not spooled and size > self._max_buffer_size and _HeldInMemory.reserve(size):
        buffer = _HeldInMemory(bytes(new_value))  # no copy of bytes; a bytearray's, once
    elif upload is not None and (spooled or size > self._max_buffer_size):
        buffer = _UploadFile.of(upload).append(new_value)
    else:
        buffer = tempfile.SpooledTemporaryFile(self._max_buffer_size)  # noqa: SIM115 - the key's
        if size > self._max_buffer_size:
            buffer.rollover()
        buffer.write(new_value)
    self._value_buffer = buffer
    self.contentsize = size
    if self._etag is None and size > self._max_buffer_size and getattr(_PART, "active", False):
        self._etag = content_etag(new_value, crc32=_declared_crc32())
        self._etl_crc32 = int(self._etag[:8], 16)  # for the object's full CRC32
    elif self._etag is None:
        self._etag = s3_models.md5_hash(new_value).hexdigest()


def content_etag(body: bytes, *, crc32: int | None = None) -> str:
    """The ETag of a part larger than moto's memory buffer: its CRC32 and size as 32 hex
    digits, the shape of an MD5 (see 13.). Equal parts get equal ETags, as on S3; a CRC32
    costs a sixth of the MD5 moto took. ``crc32``: the body's, as the request declared it
    (not taken again)."""
    return f"{binascii.crc32(body) if crc32 is None else crc32:08x}{len(body):024x}"


def _declared_crc32() -> int | None:
    """The CRC32 the UploadPart request being answered declares in its
    ``x-amz-checksum-crc32`` header (the handlers send every part's), None without one."""
    declared = getattr(_PART, "declared", None)
    if not declared:
        return None
    try:
        digest = base64.b64decode(declared, validate=True)
    except (binascii.Error, ValueError):
        return None
    return int.from_bytes(digest, "big") if len(digest) == 4 else None


def _crc32_matrix_times(matrix: list[int], vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _crc32_matrix_square(matrix: list[int]) -> list[int]:
    return [_crc32_matrix_times(matrix, row) for row in matrix]


def crc32_combine(first: int, second: int, second_size: int) -> int:
    """The CRC32 of two bodies joined, from each one's CRC32 and the second's size (zlib's
    ``crc32_combine``, which Python does not expose): a completed object's full-object
    CRC32 without reading its parts again."""
    if second_size <= 0:
        return first
    odd = [0xEDB88320] + [1 << bit for bit in range(31)]  # appends one zero bit
    even = _crc32_matrix_square(odd)  # two zero bits
    odd = _crc32_matrix_square(even)  # four zero bits
    while True:  # appends second_size zero bytes to first, squaring per bit of the size
        even = _crc32_matrix_square(odd)
        if second_size & 1:
            first = _crc32_matrix_times(even, first)
        second_size >>= 1
        if not second_size:
            break
        odd = _crc32_matrix_square(even)
        if second_size & 1:
            first = _crc32_matrix_times(odd, first)
        second_size >>= 1
        if not second_size:
            break
    return first ^ second


_PART = threading.local()  # set while moto stores an uploaded part


def _set_part(self: Any, part_id: int, value: bytes) -> Any:
    """moto's ``FakeMultipart.set_part``, its part's ETag a :func:`content_etag` when the
    part is larger than moto's memory buffer."""
    _PART.active, _PART.upload = True, self
    try:
        return MOTO_ORIGINALS["set_part"](self, part_id, value)
    finally:
        _PART.active, _PART.upload = False, None


def _complete_multipart(
    self: Any, body: Any
) -> tuple[_JoinedParts, str, tuple[str, str, int] | None]:
    """moto's ``FakeMultipart.complete``: the object, its ETag and checksum from the parts.

    Checks the parts as moto does (each listed part must exist with that ETag, every part
    but the last must be at least the minimum size, at least one part) and raises the same
    errors. The object is the listed parts' buffers in order (:class:`_JoinedParts`), not a
    copy of them; each listed part reads its range of it from then on.
    """
    from moto.s3 import models as s3_models

    builder = s3_models.MultipartChecksumBuilder(
        self.metadata.get("x-amz-checksum-algorithm"),
        self.metadata.get("x-amz-checksum-type"),
    )
    listed = []
    md5s = bytearray()
    for number, etag in body:
        part = self.parts.get(number)
        part_etag = part.etag.replace('"', "") if part is not None else None
        if part is None or part_etag != etag.replace('"', ""):
            raise s3_models.InvalidPart()
        if listed and listed[-1].contentsize < s3_models.S3_UPLOAD_PART_MIN_SIZE:
            raise s3_models.EntityTooSmall()
        md5s.extend(bytes.fromhex(part_etag))
        listed.append(part)
    if not listed:
        raise s3_models.MalformedXML
    if builder.checksum_type == "COMPOSITE":
        for part in listed:
            builder.addPart(part.value)
        checksum = builder.build()
    else:
        checksum = (
            builder.checksum_type,
            _full_object_checksum(builder.checksum_algorithm, listed),
            1,
        )
    whole = _UploadFile.whole(listed)
    if whole is not None:  # the parts are the upload's file, in order: the object is it
        return whole, f"{s3_models.md5_hash(bytes(md5s)).hexdigest()}-{len(listed)}", checksum
    joined = _JoinedParts([(part._value_buffer, part.contentsize) for part in listed])
    offset = 0
    for part in listed:
        if not isinstance(part._value_buffer, _PartWindow):  # a part listed twice: once
            part._value_buffer = _PartWindow(joined, offset, part.contentsize)
        offset += part.contentsize
    etag = f"{s3_models.md5_hash(bytes(md5s)).hexdigest()}-{len(listed)}"
    return joined, etag, checksum


def _full_object_checksum(algorithm: str, parts: list[Any]) -> str:
    """moto's checksum of the whole object, ``compute_checksum(object, algorithm)``: over
    the parts one by one where moto's checksum is a CRC32 (as is its CRC64NVME without
    the CRT), else over the parts joined."""
    from moto.s3.utils import compute_checksum

    probe = b"123456789"
    if compute_checksum(probe, algorithm) == base64.b64encode(
        binascii.crc32(probe).to_bytes(4, "big")
    ):
        crc = 0
        for part in parts:
            known = getattr(part, "_etl_crc32", None)  # taken for its ETag (see 13.)
            part_crc = binascii.crc32(part.value) if known is None else known
            crc = crc32_combine(crc, part_crc, part.contentsize)
        return base64.b64encode(crc.to_bytes(4, "big")).decode()
    return compute_checksum(b"".join(part.value for part in parts), algorithm).decode()


def copy_object_to(*, account: str, bucket: str, key: str, target: Path) -> bool:
    """Write the body of the latest version of ``key`` to ``target`` (see 17.); False,
    with nothing written, where moto has no such object (or it is deleted)."""
    from moto.s3.models import FakeKey, s3_backends

    found = s3_backends[account]["aws"].get_object(bucket, key)
    if not isinstance(found, FakeKey):
        return False
    buffer = found._value_buffer
    if isinstance(buffer, _FileWindow) and buffer.link_to(target):
        return True
    with target.open("wb") as sink:
        _copy_body(buffer, found.contentsize, sink, lock=found.lock)
    return True


def _copy_body(buffer: Any, size: int, sink: Any, *, lock: Any) -> None:
    if isinstance(buffer, _JoinedParts):
        for part, length in buffer._buffers:
            _copy_body(part, length, sink, lock=buffer._lock)
    elif isinstance(buffer, _FileWindow):  # in an upload's file: the kernel copies it
        sink.flush()
        buffer.send_to(sink.fileno())
    elif isinstance(buffer, _Readable):  # held in memory, or a part's window of its object
        for offset in range(0, size, _BODY_READ_SIZE * 64):
            sink.write(buffer.read_at(offset, _BODY_READ_SIZE * 64))
    elif getattr(buffer, "_rolled", False):  # on file: the kernel copies it
        sink.flush()
        with lock:  # reads at offsets: the buffer's position stays as it is
            offset = 0
            while offset < size:
                sent = os.sendfile(sink.fileno(), buffer.fileno(), offset, size - offset)
                if not sent:
                    raise OSError(f"the object's file ended at {offset} of {size} bytes")
                offset += sent
    else:  # in moto's memory buffer (up to 5 MiB)
        with lock:
            buffer.seek(0)
            sink.write(buffer.read(size))


class _Readable:
    """A file-like body of ``size`` bytes over :meth:`read_at`: ``seek``, ``tell``, ``read``."""

    size = 0

    def __init__(self) -> None:
        self._position = 0

    def read_at(self, offset: int, size: int) -> bytes:
        raise NotImplementedError

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(base + offset, 0)
        return self._position

    def tell(self) -> int:
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        left = max(self.size - self._position, 0)
        size = left if size is None or size < 0 else min(size, left)
        data = self.read_at(self._position, size)
        self._position += len(data)
        return data


class _HeldInMemory(_Readable):
    """A body larger than moto's memory buffer, kept as the bytes object it arrived as
    while the process holds less than :data:`S3_MEMORY_BUDGET` bytes of such bodies (no
    copy in; a read of the whole body is that object, no copy out); closing it (its key
    disposed of, or the object it became a part of) gives its bytes back."""

    held = 0
    _lock = threading.Lock()
    _rolled = False  # as SpooledTemporaryFile says it: never spooled to a file

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data: bytes | None = data
        self._size = self.size = len(data)

    @classmethod
    def reserve(cls, size: int) -> bool:
        with cls._lock:
            if cls.held + size > S3_MEMORY_BUDGET:
                return False
            cls.held += size
            return True

    @property
    def closed(self) -> bool:
        return self._data is None

    def read_at(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes from ``offset`` on (the position stays where it is)."""
        if self._data is None:
            raise ValueError("I/O operation on closed file.")
        if offset <= 0 and size >= self.size:
            return self._data
        return self._data[offset : offset + size]

    def close(self) -> None:
        with self._lock:
            type(self).held -= self._size
            self._size = 0
        self._data = None

    def __del__(self) -> None:  # a key collected without being disposed of
        self.close()


class _JoinedParts(_Readable):
    """A completed multipart object's body: the listed parts' buffers, read in order.

    moto copied the parts into one new buffer (spooling the object to a file a second
    time); this body owns the parts' buffers instead, and closes them when its key is
    disposed. Reads hold a lock, as a key and its parts' windows read the same buffers.
    """

    def __init__(self, buffers: list[tuple[Any, int]]) -> None:
        super().__init__()
        self._buffers = buffers
        self.size = sum(size for _, size in buffers)
        self._lock = threading.Lock()

    def read_at(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes from ``offset`` on (the position stays where it is)."""
        end = min(offset + size, self.size)
        pieces = []
        start = 0
        with self._lock:
            for buffer, length in self._buffers:
                low, high = max(offset, start), min(end, start + length)
                if low < high and isinstance(buffer, _Readable):
                    pieces.append(buffer.read_at(low - start, high - low))
                elif low < high:
                    buffer.seek(low - start)
                    pieces.append(buffer.read(high - low))
                start += length
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def close(self) -> None:
        for buffer, _ in self._buffers:
            buffer.close()


#: Where uploads' files are made (None: the temporary directory). An export links an
#: object's file into its target when both are on one file system, so the runtime puts
#: them beside its outputs.
SPOOL_DIRECTORY: Path | None = None


class _UploadFile:
    """One multipart upload's parts, from its first part larger than moto's memory buffer
    past the memory budget on, appended to one unnamed file in the order they arrive
    (see 19.).

    Each part is a :class:`_FileWindow` on it; when the completed object lists them all,
    in the order they were written, the object is a window on the whole file, which an
    export links instead of copying. The file closes when its last window does.
    """

    def __init__(self) -> None:
        directory = str(SPOOL_DIRECTORY or tempfile.gettempdir())
        try:  # unnamed, and linkable into a directory (no O_EXCL)
            self.fd = os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o666)
            self.linkable = True
        except (AttributeError, OSError):  # no O_TMPFILE here: a file unlinked at once
            handle, name = tempfile.mkstemp(dir=directory)
            os.unlink(name)
            self.fd, self.linkable = handle, False
        self.size = 0
        self._windows = 0
        self._lock = threading.Lock()

    @classmethod
    def of(cls, upload: Any) -> _UploadFile:
        """The file of ``upload`` (a moto ``FakeMultipart``), made on its first part."""
        found = getattr(upload, "_etl_file", None)
        if found is None or found.closed:
            found = upload._etl_file = cls()
        return found

    @staticmethod
    def has(upload: Any) -> bool:
        """Whether ``upload`` has a file (one of its parts went past the memory budget)."""
        found = getattr(upload, "_etl_file", None)
        return found is not None and not found.closed

    @staticmethod
    def whole(parts: list[Any]) -> _FileWindow | None:
        """A window on the whole file of ``parts`` (moto keys) when they are all of it, in
        order; None otherwise (a part in memory, written twice, or listed out of order)."""
        buffers = [part._value_buffer for part in parts]
        if not all(isinstance(b, _FileWindow) for b in buffers):
            return None
        file = buffers[0].file
        offset = 0
        for buffer in buffers:
            if buffer.file is not file or buffer.offset != offset:
                return None
            offset += buffer.size
        return file.window(0, offset) if offset == file.size else None

    @property
    def closed(self) -> bool:
        return self.fd < 0

    def __deepcopy__(self, memo: dict[int, Any]) -> _UploadFile:
        return self  # moto deep-copies keys (and their uploads) to list versions: one file

    def append(self, data: bytes) -> _FileWindow:
        with self._lock:
            offset = self.size
            view = memoryview(data)
            while view:
                written = os.pwrite(self.fd, view, offset + len(data) - len(view))
                view = view[written:]
            self.size += len(data)
        return self.window(offset, len(data))

    def window(self, offset: int, size: int) -> _FileWindow:
        with self._lock:
            self._windows += 1
        return _FileWindow(self, offset, size)

    def release(self) -> None:
        with self._lock:
            self._windows -= 1
            if self._windows == 0 and self.fd >= 0:
                os.close(self.fd)
                self.fd = -1


class _FileWindow(_Readable):
    """``size`` bytes of an :class:`_UploadFile` from ``offset`` on: a part's body, or a
    completed object's (the whole file). Reads at offsets, safe from any thread."""

    def __init__(self, file: _UploadFile, offset: int, size: int) -> None:
        super().__init__()
        self.file, self.offset, self.size = file, offset, size
        self._open = True

    @property
    def closed(self) -> bool:
        return not self._open

    def read_at(self, offset: int, size: int) -> bytes:
        if not self._open:
            raise ValueError("I/O operation on closed file.")
        size = min(size, max(self.size - offset, 0))
        pieces = []
        while size > 0:
            data = os.pread(self.file.fd, size, self.offset + offset)
            if not data:
                raise OSError(f"the object's file ended at {offset} of {self.size} bytes")
            pieces.append(data)
            offset, size = offset + len(data), size - len(data)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def send_to(self, fd: int) -> None:
        """Write the window to the file ``fd`` (the kernel copies it)."""
        done = 0
        while done < self.size:
            sent = os.sendfile(fd, self.file.fd, self.offset + done, self.size - done)
            if not sent:
                raise OSError(f"the object's file ended at {done} of {self.size} bytes")
            done += sent

    def link_to(self, target: Path) -> bool:
        """Give the whole file the name ``target`` (replacing what is there): an export
        without a copy. False, with nothing done, where it cannot (a window on part of a
        file, another file system, no ``/proc``): the caller copies then."""
        if not (self._open and self.file.linkable and self.offset == 0):
            return False
        if self.size != self.file.size:
            return False
        staging = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            folder = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return False
        try:  # linkat(AT_SYMLINK_FOLLOW): a directory fd makes os.link use it (link() would
            # link the /proc symlink itself)
            os.link(
                f"/proc/self/fd/{self.file.fd}",
                staging.name,
                dst_dir_fd=folder,
                follow_symlinks=True,
            )
        except OSError:
            return False
        finally:
            os.close(folder)
        try:
            os.replace(staging, target)
        except OSError:
            with contextlib.suppress(OSError):
                staging.unlink()
            return False
        return True

    def close(self) -> None:
        if self._open:
            self._open = False
            self.file.release()


class _PartWindow(_Readable):
    """A completed part's body: its range of the object it became a part of."""

    def __init__(self, joined: _JoinedParts, offset: int, size: int) -> None:
        super().__init__()
        self._joined, self._offset, self.size = joined, offset, size

    def read_at(self, offset: int, size: int) -> bytes:
        return self._joined.read_at(self._offset + offset, min(size, max(self.size - offset, 0)))

    def close(self) -> None:
        """Nothing to release: the object's body owns the buffer."""


class LambdaDispatch:
    """Answers ``lambda:Invoke`` calls in-process while installed.

    The handler goes into botocore's built-in handler list (sessions created later get it)
    and onto boto3's default session (clients created later from it get it). Clients that
    already exist keep their own event copy; the runtime creates its clients after this.
    """

    _current: InvokeHandler | None = None
    _installed = False

    @classmethod
    def install(cls, handler: InvokeHandler) -> None:
        cls._current = handler
        if not cls._installed:
            _register_everywhere(_INVOKE_EVENT, cls._before_call)
            cls._installed = True

    @classmethod
    def uninstall(cls) -> None:
        cls._current = None

    @classmethod
    def _before_call(cls, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict] | None:
        handler = cls._current
        if handler is None:
            return None  # let the call go on (moto answers, or fails for lack of Docker)
        # url_path: /2015-03-31/functions/<quoted name or ARN>/invocations
        function = unquote(params["url_path"].split("/functions/", 1)[1].split("/", 1)[0])
        headers = params.get("headers", {})
        invocation_type = headers.get("X-Amz-Invocation-Type", "RequestResponse")
        body = params.get("body") or b"{}"
        payload, error = handler(
            function, body if isinstance(body, bytes) else body.encode(), invocation_type
        )
        status = 202 if invocation_type == "Event" else 200
        response_headers = {"X-Amz-Executed-Version": "$LATEST"}
        parsed: dict[str, Any] = {
            "StatusCode": status,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(payload), len(payload)),
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": response_headers},
        }
        if error:
            parsed["FunctionError"] = error
            response_headers["X-Amz-Function-Error"] = error
        http = AWSResponse(params.get("url", ""), status, response_headers, None)
        return http, parsed


class CopySourceDecoding:
    """Undo the URL-encoding of a string ``CopySource`` before botocore encodes it again."""

    active = False
    _installed = False

    @classmethod
    def install(cls) -> None:
        cls.active = True
        if not cls._installed:
            _register_everywhere(_COPY_EVENT, cls._before_parameter_build, first=True)
            cls._installed = True

    @classmethod
    def uninstall(cls) -> None:
        cls.active = False

    @classmethod
    def _before_parameter_build(cls, params: dict[str, Any], **_: Any) -> None:
        source = params.get("CopySource")
        if cls.active and isinstance(source, str):
            path, _, query = source.partition("?")
            params["CopySource"] = unquote_plus(path) + (f"?{query}" if query else "")


_COPY_EVENT = "before-parameter-build.s3.CopyObject"


def _register_everywhere(event: str, handler: Callable[..., Any], *, first: bool = False) -> None:
    """Register on sessions to come (botocore's built-in list) and on boto3's default one."""
    if first:
        botocore.handlers.BUILTIN_HANDLERS.insert(
            0, (event, handler, botocore.handlers.REGISTER_FIRST)
        )
    else:
        botocore.handlers.BUILTIN_HANDLERS.append((event, handler))
    session = boto3._get_default_session()
    if first:
        session.events.register_first(event, handler)
    else:
        session.events.register(event, handler)


@dataclass
class EventTap:
    """An SQS queue added as a target of one EventBridge rule, to see what it matched."""

    rule: str
    queue_url: str

    @classmethod
    def attach(cls, *, events: Any, sqs: Any, rule: str) -> EventTap:
        queue_url = sqs.create_queue(QueueName=f"local-tap-{rule}"[:80])["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_targets(Rule=rule, Targets=[{"Id": "local-tap", "Arn": queue_arn}])
        return cls(rule=rule, queue_url=queue_url)

    def drain(self, sqs: Any) -> list[dict[str, Any]]:
        """Every event delivered so far, oldest first."""
        found: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


class ExecutionStatusEvents:
    """Sends the ``Step Functions Execution Status Change`` event of every execution that
    ended in one of ``statuses``, once each, to the default event bus (see 10. above)."""

    SOURCE = "aws.states"
    DETAIL_TYPE = "Step Functions Execution Status Change"

    def __init__(self, statuses: tuple[str, ...] = ("FAILED", "TIMED_OUT", "ABORTED")) -> None:
        self.statuses = statuses
        self._seen: set[str] = set()  # executions that ended, their event sent if due

    def send_new(self, *, sfn: Any, events: Any) -> int:
        """Put the event of each execution that ended so since the last call; the count."""
        sent = 0
        for machine in sfn.list_state_machines()["stateMachines"]:
            pages = sfn.get_paginator("list_executions").paginate(
                stateMachineArn=machine["stateMachineArn"]
            )
            for execution in (e for page in pages for e in page["executions"]):
                arn = execution["executionArn"]
                if execution["status"] == "RUNNING" or arn in self._seen:
                    continue
                self._seen.add(arn)
                # ListExecutions can report a stopped execution SUCCEEDED; DescribeExecution
                # reports it ABORTED, as AWS does
                described = sfn.describe_execution(executionArn=arn)
                if described["status"] in self.statuses:
                    events.put_events(Entries=[self._entry(described)])
                    sent += 1
        return sent

    def _entry(self, execution: dict[str, Any]) -> dict[str, Any]:
        def millis(moment: Any) -> int | None:
            return int(moment.timestamp() * 1000) if moment is not None else None

        detail = {
            "executionArn": execution["executionArn"],
            "stateMachineArn": execution["stateMachineArn"],
            "name": execution["name"],
            "status": execution["status"],
            "startDate": millis(execution.get("startDate")),
            "stopDate": millis(execution.get("stopDate")),
            "input": execution.get("input"),
            "output": execution.get("output"),
            "error": execution.get("error"),
            "cause": execution.get("cause"),
        }
        return {
            "Source": self.SOURCE,
            "DetailType": self.DETAIL_TYPE,
            "Detail": json.dumps(detail),
            "Resources": [execution["executionArn"]],
        }


class MapTolerance:
    """Distributed Maps' ``ToleratedFailurePercentage`` as moto can parse it.

    moto parses only a float and never enforces it: the rewrite makes every one a float and
    records, in :attr:`warnings`, each non-zero tolerance, which a local run treats as 0 (a
    failed child fails the map).
    """

    def __init__(self) -> None:
        #: what the local run cannot honour, for the runtime to report
        self.warnings: list[str] = []

    def rewrite(self, definition: dict[str, Any]) -> dict[str, Any]:
        rewritten = copy.deepcopy(definition)
        self._rewrite_states(rewritten["States"])
        return rewritten

    def _rewrite_states(self, states: dict[str, Any]) -> None:
        for name, state in states.items():
            for inner in _inner_state_lists(state):
                self._rewrite_states(inner)
            tolerance = state.get("ToleratedFailurePercentage")
            if state.get("Type") != "Map" or tolerance is None:
                continue
            state["ToleratedFailurePercentage"] = float(tolerance)
            if tolerance:
                self.warnings.append(
                    f"{name}: ToleratedFailurePercentage {tolerance} is treated as 0 locally"
                )


class ShortWaits:
    """Wait states as a local run can afford them.

    moto's interpreter sleeps for a Wait state's ``Seconds`` in earnest, so a deployment's
    one-minute poll for a sender's manifest would make a local run sit for half an hour.
    The rewrite caps every ``Seconds`` at :attr:`cap` (1 s by default). Loops that must
    keep their length count their turns in the execution state (the manifest wait does),
    not the clock, so they keep their number of turns.
    """

    def __init__(self, cap: int = 1) -> None:
        self.cap = cap

    def rewrite(self, definition: dict[str, Any]) -> dict[str, Any]:
        rewritten = copy.deepcopy(definition)
        self._rewrite_states(rewritten["States"])
        return rewritten

    def _rewrite_states(self, states: dict[str, Any]) -> None:
        for state in states.values():
            for inner in _inner_state_lists(state):
                self._rewrite_states(inner)
            if state.get("Type") == "Wait" and isinstance(state.get("Seconds"), int | float):
                state["Seconds"] = min(int(state["Seconds"]), self.cap)


def _inner_state_lists(state: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for key in ("ItemProcessor", "Iterator"):
        if key in state:
            found.append(state[key]["States"])
    for branch in state.get("Branches", []):
        found.append(branch["States"])
    return found


_LAZY = threading.local()


def lazy_s3_reads() -> None:
    """Read GetObject bodies from the key as they are consumed (see 11. above). Idempotent."""
    if "get_object" in MOTO_ORIGINALS:
        return
    from moto.core import botocore_stubber
    from moto.s3 import models as s3_models
    from moto.s3.responses import S3Response

    get_object = S3Response.get_object
    value = s3_models.FakeKey.value
    raw_response = botocore_stubber.MockRawResponse
    MOTO_ORIGINALS.update(
        get_object=get_object,
        get_value=value.fget,  # type: ignore[attr-defined]
        raw_response=raw_response,
    )

    def get_object_lazily(self: Any) -> Any:
        _LAZY.active = True
        try:
            return get_object(self)
        finally:
            _LAZY.active = False

    def get_value(key: Any) -> Any:
        if getattr(_LAZY, "active", False) and key.contentsize >= LAZY_BODY_SIZE:
            return _KeyBody(key)
        return MOTO_ORIGINALS["get_value"](key)

    def raw(body: Any) -> Any:
        return body if isinstance(body, _KeyBody) else raw_response(body)

    S3Response.get_object = get_object_lazily  # type: ignore[method-assign]
    s3_models.FakeKey.value = property(get_value, value.fset)  # type: ignore[attr-defined]
    botocore_stubber.MockRawResponse = raw  # type: ignore[misc]


@dataclass
class BodyRead:
    """How far the last object body streamed through :class:`_KeyBody` has been read."""

    key: str = ""
    done: int = 0
    total: int = 0


#: the body read last (the runtime shows it as the progress of the step reading it)
LAST_READ = BodyRead()


class _KeyBody:
    """An object's body as GetObject returns it, read from the key's buffer on demand.

    moto measures it (``len``) and slices a range out of it (bytes of that range only);
    botocore streams it (``read``). The key's buffer is read under the key's lock, or
    through :meth:`_Readable.read_at`, which holds what it reads from.
    """

    def __init__(self, key: Any) -> None:
        self._key = key
        self._buffer = key._value_buffer
        self.size = key.contentsize
        self._position = 0

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, item: slice) -> bytes:
        start, stop, step = item.indices(self.size)
        if step != 1:
            raise ValueError("an object body is read in ranges, not with a step")
        data = self.read_at(start, max(stop - start, 0))
        self._reached(start + len(data))  # a reader in ranges has read up to there
        return data

    def read_at(self, offset: int, size: int) -> bytes:
        if isinstance(self._buffer, _Readable):
            return self._buffer.read_at(offset, size)
        with self._key.lock:
            self._buffer.seek(offset)
            return bytes(self._buffer.read(size))

    def read(self, amt: int | None = None) -> bytes:
        left = self.size - self._position
        size = left if amt is None or amt < 0 else min(amt, left)
        data = self.read_at(self._position, size) if size > 0 else b""
        self._position += len(data)
        self._reached(self._position)
        return data

    def _reached(self, offset: int) -> None:
        LAST_READ.key, LAST_READ.done, LAST_READ.total = self._key.name, offset, self.size

    def stream(self, **_: Any) -> Any:
        while data := self.read(_BODY_READ_SIZE):
            yield data

    def close(self) -> None:
        """Nothing to release: the key owns its buffer."""


def pattern_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether moto's EventBridge would route ``event`` to a rule with ``pattern`` (see 11.)."""
    from moto.events.models import EventPattern

    return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))


def cached_s3_urls() -> None:
    """Build the S3 backend's URL table once per environment it depends on (see 20.).

    Idempotent. The table is moto's own (``BaseBackend.urls``), built the first time a
    value of ``MOTO_S3_CUSTOM_ENDPOINTS`` and ``MOTO_ENABLE_ISO_REGIONS`` is seen.
    """
    from moto.s3.models import S3Backend

    if "s3_urls" in MOTO_ORIGINALS:
        return
    urls = MOTO_ORIGINALS["s3_urls"] = S3Backend.urls.fget  # type: ignore[attr-defined]
    tables: dict[tuple[str | None, str | None], Any] = {}

    def cached(self: Any) -> Any:
        environment = (
            os.environ.get("MOTO_S3_CUSTOM_ENDPOINTS"),
            os.environ.get("MOTO_ENABLE_ISO_REGIONS"),
        )
        table = tables.get(environment)
        if table is None:
            table = tables[environment] = urls(self)
        return table

    S3Backend.urls = property(cached)  # type: ignore[method-assign,assignment]


def whole_s3_listings() -> None:
    """Give a Distributed Map's S3 listing item reader every object, as AWS does (see 9.).

    moto's reader took ``response["Contents"]`` of one ``ListObjectsV2`` call: an empty
    listing (a header-only file has no part to plan) raised ``KeyError`` and failed the map,
    and a listing of more than one page (1,000 keys) lost the rest. The replacement pages
    through the whole listing and yields no item for an empty one.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import (
        resource_eval_s3,
    )

    reader = resource_eval_s3.ResourceEvalS3
    if "list_objects_v2" in MOTO_ORIGINALS:
        return
    MOTO_ORIGINALS["list_objects_v2"] = reader._handle_list_objects_v2

    def listed(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        client = reader._get_s3_client(
            resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
        )
        pages = client.get_paginator("list_objects_v2").paginate(**env.stack.pop())
        env.stack.append([item for page in pages for item in page.get("Contents", [])])

    reader._handle_list_objects_v2 = staticmethod(listed)


__all__ = [
    "CopySourceDecoding",
    "EventTap",
    "ExecutionStatusEvents",
    "LambdaDispatch",
    "MapTolerance",
    "ParsedDefinitions",
    "cached_s3_urls",
    "copy_object_to",
    "deferred_batch_package",
    "lazy_s3_reads",
    "lean_s3_bodies",
    "pattern_matches",
    "start_mock",
    "whole_s3_listings",
]


def restore_version_id(*, bucket: str, key: str, current: str, wanted: str) -> bool:
    """Give the version ``current`` of ``key`` the id ``wanted``: the bucket of an earlier
    run put back as it was (``etl-pipeline reprocess`` and ``redrive``), since moto draws a
    new random id for every put and keeps nothing between two commands. Returns whether the
    version was found."""
    from moto.s3.models import s3_backends

    from .resolve import ACCOUNT

    found = s3_backends[ACCOUNT]["aws"].get_bucket(bucket).keys.getlist(key, default=[])
    for version in found:
        if version.version_id == current:
            version._version_id = wanted
            return True
    return False
