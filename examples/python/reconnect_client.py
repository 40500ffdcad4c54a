"""A python-socketio client that must reconnect by itself after the gateway restarts.

Usage: reconnect_client.py URL TOKEN TRANSPORT CONNECTS
Prints "connected N" on each connection to /clients and exits 0 after CONNECTS of them; the
test restarts the gateway in between. Uses the asyncio client (aiohttp) for both transports.
"""
import asyncio
import sys

import socketio


async def main() -> int:
    url, token, transport, wanted = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    client = socketio.AsyncClient(reconnection_delay=0.2, reconnection_delay_max=1)
    done = asyncio.Event()
    count = 0

    @client.on("connect", namespace="/clients")
    async def on_connect():
        nonlocal count
        count += 1
        print(f"connected {count}", flush=True)
        if count >= wanted:
            done.set()

    @client.on("disconnect", namespace="/clients")
    async def on_disconnect():
        print("disconnected", flush=True)

    await client.connect(
        url, auth={"token": token}, transports=[transport], namespaces=["/clients"]
    )
    await asyncio.wait_for(done.wait(), timeout=60)
    await client.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
