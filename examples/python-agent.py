#!/usr/bin/env python3
"""A TKR gateway agent in Python, written only from docs/PROTOCOL.md.

It answers every user message in every session it is a member of with a streamed reply
(`stream:start`, a `stream:delta` per word, `stream:end`), finds its sessions with
`GET /v1/sessions` and joins new ones on `session:added`, reconnects by itself, catches up with
`lastSeq` after a reconnect, and never answers a message twice: the reply's id is derived from
the message's id, so a replayed message finds its answer already stored (the gateway's
idempotency) and nothing is sent again.

Needs python-socketio 5.x with aiohttp (Debian: python3-socketio python3-aiohttp).

    GATEWAY_URL=http://localhost:3000 AGENT_ID=echo-bot /usr/bin/python3 examples/python-agent.py

Environment:
    GATEWAY_URL     the gateway (default http://localhost:3000)
    AGENT_ID        the agent's principal id, the token's `sub` (default python-agent)
    AGENT_NAME      its display name (default: AGENT_ID)
    AGENT_TOKEN     an agent JWT; unset, one is asked from POST /v1/dev/token (development only)
    AGENT_DELTA_DELAY  seconds between two deltas (default 0.05), to look like a model writing

It prints one line per event of interest on stdout ("ready", "answered <message id> ...").
"""
import asyncio
import hashlib
import os
import signal
import sys

import aiohttp
import socketio
from socketio import exceptions as sio_errors

NAMESPACE = "/agents"
ACK_TIMEOUT = 10

GATEWAY_URL = os.environ.get("GATEWAY_URL", "http://localhost:3000").rstrip("/")
AGENT_ID = os.environ.get("AGENT_ID", "python-agent")
AGENT_NAME = os.environ.get("AGENT_NAME", AGENT_ID)
DELTA_DELAY = float(os.environ.get("AGENT_DELTA_DELAY", "0.05"))


def say(*parts):
    print(*parts, flush=True)


class Failed(Exception):
    """An ack with status "error": code, and whether retrying can help."""

    def __init__(self, ack):
        super().__init__(f"{ack.get('code')}: {ack.get('message')}")
        self.code = ack.get("code")
        self.retryable = bool(ack.get("retryable"))


def reply_id(session_id, message_id):
    """The answer's id: the same for the same message every time (PROTOCOL: the id is the
    idempotency key), and distinct per agent, so two agents answering one message never clash."""
    digest = hashlib.sha256(f"{AGENT_ID}\n{session_id}\n{message_id}".encode()).hexdigest()
    return f"re-{digest[:40]}"


def compose(message):
    """The reply, word by word. A real agent would stream a model's tokens here."""
    text = f"{AGENT_NAME} heard {message.get('senderName') or message['senderId']}: {message['content']}"
    words = text.split(" ")
    return [w if i == 0 else f" {w}" for i, w in enumerate(words)]


class Agent:
    def __init__(self, http):
        self.http = http
        self.token = os.environ.get("AGENT_TOKEN")
        self.sio = socketio.AsyncClient(reconnection_delay=0.5, reconnection_delay_max=5)
        # Per session: the highest seq handled. Rejoins send it as lastSeq.
        self.last_seq = {}
        self.locks = {}
        # Message ids answered (their stream:end acked), and answers under way.
        self.answered = set()
        self.answering = {}
        # Bumped on every connect: an answer cut by a disconnect stops, and its retry takes over
        # (two writers of one stream would interleave their deltas).
        self.epoch = 0
        self.reauth = False
        self.sio.on("connect", self.on_connect, namespace=NAMESPACE)
        self.sio.on("disconnect", self.on_disconnect, namespace=NAMESPACE)
        self.sio.on("connect_error", self.on_connect_error, namespace=NAMESPACE)
        self.sio.on("message", self.on_message, namespace=NAMESPACE)
        self.sio.on("session:head", self.on_head, namespace=NAMESPACE)
        self.sio.on("session:added", self.on_session_added, namespace=NAMESPACE)
        self.sio.on("session:removed", self.on_session_removed, namespace=NAMESPACE)
        self.sio.on("gateway:error", self.on_gateway_error, namespace=NAMESPACE)

    # --- connection -------------------------------------------------------------------------

    async def get_token(self):
        if self.token:
            return self.token
        async with self.http.post(
            f"{GATEWAY_URL}/v1/dev/token",
            json={"sub": AGENT_ID, "kind": "agent", "name": AGENT_NAME},
        ) as res:
            if res.status != 200:
                raise RuntimeError(f"POST /v1/dev/token: {res.status} {await res.text()}")
            return (await res.json())["token"]

    async def auth(self):
        # Called again on every reconnect (python-socketio calls a callable `auth`), so a token
        # dropped after AUTH_EXPIRED is fetched anew.
        self.token = await self.get_token()
        return {"token": self.token}

    async def connect(self, attempts=10):
        """The first connect, or one after the server ended the connection on purpose (python-
        socketio reconnects by itself only after a lost one)."""
        delay = 0.5
        for attempt in range(attempts):
            try:
                await self.sio.connect(
                    GATEWAY_URL, auth=self.auth, transports=["websocket"], namespaces=[NAMESPACE]
                )
                return
            except (sio_errors.ConnectionError, aiohttp.ClientError, RuntimeError) as err:
                if attempt == attempts - 1:
                    raise
                say("connect failed", err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)

    async def call(self, event, payload):
        ack = await self.sio.call(event, payload, namespace=NAMESPACE, timeout=ACK_TIMEOUT)
        if not isinstance(ack, dict) or ack.get("status") != "success":
            raise Failed(ack if isinstance(ack, dict) else {"code": "INTERNAL", "retryable": True})
        return ack

    async def on_connect(self):
        self.epoch += 1
        say("connected")
        # Handlers must return for python-socketio to go on reading: the work runs apart.
        asyncio.ensure_future(self.join_all())

    async def on_disconnect(self):
        say("disconnected")
        if self.reauth:
            # The server ended it (AUTH_EXPIRED): connect again with a fresh token.
            self.reauth = False
            asyncio.ensure_future(self.connect())

    async def on_connect_error(self, data):
        say("connect_error", (data or {}).get("code") if isinstance(data, dict) else data)

    async def on_gateway_error(self, error):
        say("gateway:error", error.get("code"))
        if error.get("code") == "AUTH_EXPIRED" and not os.environ.get("AGENT_TOKEN"):
            self.token = None
            self.reauth = True

    # --- sessions ---------------------------------------------------------------------------

    async def my_sessions(self):
        sessions, cursor = [], None
        while True:
            params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
            async with self.http.get(
                f"{GATEWAY_URL}/v1/sessions",
                params=params,
                headers={"Authorization": f"Bearer {self.token}"},
            ) as res:
                if res.status != 200:
                    raise RuntimeError(f"GET /v1/sessions: {res.status} {await res.text()}")
                page = await res.json()
            sessions += page["sessions"]
            cursor = page.get("nextCursor")
            if not cursor:
                return sessions

    async def join_all(self):
        # Answers cut by the last disconnect go out again (their ids make that safe); not those
        # the catch-up below starts.
        cut = [(sid, m) for sid, m, epoch in self.answering.values() if epoch != self.epoch]
        try:
            for session in await self.my_sessions():
                await self.join(session["id"], session["headSeq"])
            for session_id, message in cut:
                self.start_answer(session_id, message, retry=True)
            say("ready", len(self.last_seq))
        except (sio_errors.SocketIOError, Failed, RuntimeError, aiohttp.ClientError) as err:
            # The next connect tries again.
            say("join failed", err)

    async def join(self, session_id, head_seq):
        """Joins with lastSeq: where this agent left off, or (a session new to it) the head, so
        it answers what is said from now on rather than the whole history."""
        last = self.last_seq.setdefault(session_id, head_seq)
        async with self.lock(session_id):
            ack = await self.call("join_session", {"sessionId": session_id, "lastSeq": last})
            self.handle_page(session_id, ack.get("messages", []))
        say("joined", session_id, "from", last)
        if ack.get("hasMore"):
            await self.catch_up(session_id)

    def lock(self, session_id):
        return self.locks.setdefault(session_id, asyncio.Lock())

    async def on_session_added(self, event):
        session = event["session"]
        # headSeq is the head when it was added: nothing said since is missed.
        asyncio.ensure_future(self.safely(self.join(session["id"], session["headSeq"])))

    async def on_session_removed(self, event):
        self.last_seq.pop(event["sessionId"], None)
        say("removed from", event["sessionId"])

    async def safely(self, work):
        try:
            await work
        except (sio_errors.SocketIOError, Failed) as err:
            say("failed", err)

    # --- receiving --------------------------------------------------------------------------

    async def on_message(self, message):
        session_id = message["sessionId"]
        last = self.last_seq.get(session_id)
        if last is None or message["seq"] <= last:
            return  # not ours, or already handled (live messages can come twice)
        if message["seq"] == last + 1:
            self.handle_page(session_id, [message])
        else:
            # A gap: fetch what lies between from the table, in order.
            asyncio.ensure_future(self.safely(self.catch_up(session_id)))

    async def on_head(self, head):
        last = self.last_seq.get(head["sessionId"])
        if last is not None and head["seq"] > last:
            asyncio.ensure_future(self.safely(self.catch_up(head["sessionId"])))

    async def catch_up(self, session_id):
        async with self.lock(session_id):
            while True:
                ack = await self.call(
                    "sync", {"sessionId": session_id, "afterSeq": self.last_seq[session_id]}
                )
                self.handle_page(session_id, ack["messages"])
                if not ack["hasMore"]:
                    # Up to headSeq the page is complete: messages this agent may not see
                    # (direct ones between others) leave gaps that never fill.
                    self.last_seq[session_id] = max(self.last_seq[session_id], ack["headSeq"])
                    return

    def handle_page(self, session_id, messages):
        for message in sorted(messages, key=lambda m: m["seq"]):
            if message["seq"] <= self.last_seq.get(session_id, 0):
                continue
            self.last_seq[session_id] = message["seq"]
            if message.get("senderKind") == "user" and message["type"] in ("text", "markdown"):
                self.start_answer(session_id, message)

    # --- answering --------------------------------------------------------------------------

    def start_answer(self, session_id, message, retry=False):
        if message["id"] in self.answered:
            return
        if message["id"] in self.answering and not retry:
            return
        self.answering[message["id"]] = (session_id, message, self.epoch)
        asyncio.ensure_future(self.answer(session_id, message))

    async def answer(self, session_id, message):
        epoch = self.epoch
        stream_id = reply_id(session_id, message["id"])
        words = compose(message)
        start = {"id": stream_id, "sessionId": session_id, "type": "text", "replyTo": message["id"]}
        if message.get("visibility") == "direct":
            # A direct question gets a direct answer.
            start.update(receiverId=message["senderId"], visibility="direct")
        try:
            try:
                started = await self.call("stream:start", start)
            except Failed as err:
                if err.code != "CONFLICT":
                    raise
                # Still open from before a reconnect: the end below closes it with the full text.
                started = {}
            if started.get("duplicate"):
                result = started  # answered before (another run, or an ack lost to a drop)
            else:
                if "startedAt" in started:
                    for index, word in enumerate(words):
                        if self.epoch != epoch:
                            raise sio_errors.BadNamespaceError("reconnected meanwhile")
                        await self.sio.emit(
                            "stream:delta",
                            {"id": stream_id, "sessionId": session_id, "index": index, "delta": word},
                            namespace=NAMESPACE,
                        )
                        await asyncio.sleep(DELTA_DELAY)
                # The whole text in the end: stored even if the stream was lost meanwhile.
                result = await self.call(
                    "stream:end", {"id": stream_id, "sessionId": session_id, "content": "".join(words)}
                )
        except (sio_errors.SocketIOError, Failed) as err:
            if isinstance(err, Failed) and not err.retryable:
                self.answering.pop(message["id"], None)
                say("refused", message["id"], err)
            else:
                say("interrupted", message["id"], err)  # retried on the next connect
            return
        self.answering.pop(message["id"], None)
        self.answered.add(message["id"])
        say(
            "answered",
            message["id"],
            "as",
            result["id"],
            "seq",
            result.get("seq"),
            "duplicate" if result.get("duplicate") else "new",
        )


async def main():
    async with aiohttp.ClientSession() as http:
        agent = Agent(http)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # Not sio.wait(): python-socketio 5.7 returns from it when a reconnect succeeds within
        # a second of the drop. The agent runs until it is told to stop.
        await agent.connect()
        await stop.wait()
        await agent.sio.disconnect()
    say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
