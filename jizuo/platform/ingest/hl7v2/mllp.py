"""The MLLP listener (HL7 v2 over TCP): a frame in, its message taken and committed, its ACK out — in order.

Framing (MLLP release 1): `<VT> message <FS><CR>`. Each message is committed (with its record, FHIR writes
and audit) before its ACK is sent, so an AA means the data is durable; a peer that gets no ACK re-sends, and
the duplicate check makes that harmless. The framing is read here rather than with `hl7.mllp`'s reader so
that nothing a peer sends is dropped unanswered:
- bytes outside any frame (other than line breaks) get a NAK (AR) of their own, before the next frame's ACK;
- a frame without its start byte <VT> gets a NAK (AR);
- a frame cut off by the peer closing the connection is kept as a quarantined record (no one to answer);
- a frame longer than `max_frame` (16 MB) gets a NAK (AR) and is not kept (it is not read into memory).
Everything else rejected is kept as a quarantined record (attributed to its facility when its MSH reads).

Text is UTF-8 when it is valid UTF-8, else GB18030; the ACK goes back in the same encoding.

Batches: one per connection and sending facility (so each institution sees its own receipts), closed when
the connection closes or after `batch_size` messages (a connection may stay open for days), when the next
message opens a new one. The listener trusts its network (MLLP has no authentication): it binds to
127.0.0.1 unless `JIZUO_MLLP_HOST` says otherwise — expose it through a VPN or a TLS-terminating proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.clock import utcnow
from jizuo.platform.audit.service import Actor
from jizuo.platform.ingest.hl7v2.ack import build_ack
from jizuo.platform.ingest.hl7v2.parse import Hl7Problem, Message, parse_message
from jizuo.platform.ingest.hl7v2.service import (
    UTF8,
    BatchCursor,
    FacilityCache,
    Sender,
    close_stale_mllp_batches,
    finish_batch,
    flush_audit,
    open_batch,
    read_message,
    take_message,
)

log = logging.getLogger(__name__)
VT, FS, CR = b"\x0b", b"\x1c", b"\r"
END = FS + CR
MAX_FRAME = 16 * 1024 * 1024
BATCH_SIZE = 1000
READ_SIZE = 65536
_WHITESPACE = b" \t\r\n"


def decode_frame(data: bytes) -> tuple[str, str, str]:
    """(text, Python codec, HL7 MSH-18 name) of a frame's bytes."""
    try:
        return data.decode("utf-8"), "utf-8", UTF8
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace"), "gb18030", "GB 18030-2000"


def split_chunk(chunk: bytes) -> list[tuple[bytes, Hl7Problem | None]]:
    """One chunk read up to an <FS><CR> → (data, rejection) in order: junk before the frame, then the frame."""
    start = chunk.rfind(VT)
    if start < 0:
        if not chunk.strip(_WHITESPACE):
            return []
        return [(chunk, Hl7Problem("MLLP 帧缺少起始符 <VT>（0x0B），消息未被接收", "AR", "100", None, "mllp.framing"))]
    out: list[tuple[bytes, Hl7Problem | None]] = []
    junk = chunk[:start].strip(_WHITESPACE)
    if junk:
        out.append((junk, Hl7Problem("MLLP 帧之外的数据（未以 <VT> 开始或未以 <FS><CR> 结束），已拒收", "AR", "100",
                                     None, "mllp.framing")))
    out.append((chunk[start + 1:], None))
    return out


@dataclass
class _Connection:
    peer: str
    facilities: FacilityCache = field(default_factory=FacilityCache)
    batches: dict[uuid.UUID | None, BatchCursor] = field(default_factory=dict)


class MllpServer:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], host: str, port: int, *,
                 batch_size: int = BATCH_SIZE, max_frame: int = MAX_FRAME) -> None:
        self.sessionmaker = sessionmaker
        self.host, self.requested_port = host, port
        self.batch_size, self.max_frame = batch_size, max_frame
        self.sender = Sender()
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        started_at = utcnow()
        async with self.sessionmaker() as db:
            closed = await close_stale_mllp_batches(db, started_at)
            await db.commit()
        if closed:
            log.info("closed %d MLLP batches left open by a previous stop", closed)
        # reuse_port: every `jizuo serve` worker listens on the port and the kernel spreads connections.
        self._server = await asyncio.start_server(self._client, self.host, self.requested_port,
                                                  reuse_port=hasattr(socket, "SO_REUSEPORT"))
        log.info("MLLP listener on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._clients):
            task.cancel()
        if self._clients:
            await asyncio.wait(self._clients, timeout=10)
        await self._server.wait_closed()
        self._server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        peer = writer.get_extra_info("peername")
        connection = _Connection(f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer))
        try:
            await self._serve(connection, reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._close_batches(connection))
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._clients.discard(task)

    async def _serve(self, connection: _Connection, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        buffer = bytearray()
        oversized = False
        while True:
            end = buffer.find(END)
            if end < 0:
                if len(buffer) > self.max_frame:
                    # Keep reading to the frame's end, keeping only what is needed to find it.
                    oversized, buffer = True, buffer[-1:]
                data = await reader.read(READ_SIZE)
                if not data:
                    if buffer.strip(_WHITESPACE) and not oversized:
                        await self._take(connection, bytes(buffer), Hl7Problem(
                            "连接关闭时 MLLP 帧不完整（缺少结束符 <FS><CR>），消息未被接收", "AR", "100", None,
                            "mllp.framing"))
                    return
                buffer.extend(data)
                continue
            chunk, buffer = bytes(buffer[:end]), buffer[end + len(END):]
            if oversized:
                oversized = False
                ack = build_ack(None, "AR", problem=Hl7Problem(
                    f"MLLP 帧超过 {self.max_frame // (1024 * 1024)} MB 上限，消息未被接收", "AR", "207", None,
                    "mllp.framing"))
                writer.write(VT + ack.encode() + END)
                await writer.drain()
                continue
            for data, rejection in split_chunk(chunk):
                writer.write(VT + await self._take(connection, data, rejection) + END)
                await writer.drain()

    async def _take(self, connection: _Connection, data: bytes, rejection: Hl7Problem | None) -> bytes:
        """One message in its own transaction; its ACK, encoded. A failure of the platform itself (the
        database gone) is answered AE so the sender retries later, and the connection stays up."""
        text, codec, charset = decode_frame(data)
        created: uuid.UUID | None = None
        institution: uuid.UUID | None = None
        try:
            async with self.sessionmaker() as db:
                incoming = await read_message(db, text, self.sender, connection.facilities, charset, rejection)
                institution = incoming.institution_id
                batch = connection.batches.get(institution)
                if batch is None:
                    batch = await open_batch(db, "mllp", institution, None, {"peer": connection.peer})
                    connection.batches[institution], created = batch, batch.batch_id
                ack = await take_message(db, batch, incoming, self.sender)
                facility = incoming.facility
                await flush_audit(db, batch, Actor(username=self.sender.actor(facility),
                                                   organization_code=facility.code if facility else None))
                await db.commit()
            if batch.seq >= self.batch_size:
                await self._finish(connection, institution)
        except Exception:  # noqa: BLE001 — one message must never take the listener down
            log.exception("MLLP message from %s could not be processed", connection.peer)
            held = connection.batches.get(institution)
            if held is not None and held.batch_id == created:
                del connection.batches[institution]      # its batch row was rolled back with the message
            elif held is not None:
                held.sink.counts.clear()
            try:
                message: Message | None = parse_message(text)
            except Hl7Problem:
                message = None
            ack = build_ack(message, "AE", problem=Hl7Problem("平台暂时无法处理该消息（内部错误），请稍后重发", "AE",
                                                              "207", None, "hl7v2.internal"), charset=charset)
        return ack.encode(codec, errors="replace")

    async def _finish(self, connection: _Connection, institution: uuid.UUID | None) -> None:
        batch = connection.batches.pop(institution, None)
        if batch is None:
            return
        async with self.sessionmaker() as db:
            await finish_batch(db, batch)
            await db.commit()

    async def _close_batches(self, connection: _Connection) -> None:
        for institution in list(connection.batches):
            await self._finish(connection, institution)


async def start_mllp_server(sessionmaker: async_sessionmaker[AsyncSession], host: str, port: int, **options: int
                            ) -> MllpServer:
    """Start listening (port 0: any free port, see `.port`); `await server.stop()` to stop."""
    server = MllpServer(sessionmaker, host, port, **options)
    await server.start()
    return server
