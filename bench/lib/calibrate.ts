/**
 * A yardstick for the machine, measured before the scenarios: the round trip of a small message
 * over loopback TCP to another process, paced at one per millisecond so the peer sleeps between
 * messages (as a server does at a steady rate), and the CPU the sending side spends per round
 * trip. Every message in the scenarios costs several such wake-ups (client → server → Postgres →
 * server → clients), so on a machine where they are expensive (nested virtualisation, a
 * contended host) every figure moves with them.
 */
import { spawn } from "node:child_process";
import net from "node:net";
import { round } from "./histogram.js";

const ECHO = `
const net = require("node:net");
const server = net.createServer((s) => s.on("data", (d) => s.write(d)));
server.listen(0, "127.0.0.1", () => process.stdout.write(String(server.address().port) + "\\n"));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
`;

export interface Calibration {
  pacedRoundTripP50Us: number;
  pacedRoundTripP99Us: number;
  /** CPU of the sending process per paced round trip (timer, write, wake-up, read). */
  pacedCpuPerRoundTripUs: number;
  backToBackRoundTripP50Us: number;
}

export async function calibrate(rounds = 500): Promise<Calibration> {
  const child = spawn(process.execPath, ["-e", ECHO], { stdio: ["pipe", "pipe", "inherit"] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once("exit", () => reject(new Error("echo process exited")));
    });
    const socket = net.connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once("connect", resolve));
    const payload = Buffer.alloc(64, 120);
    const once = () =>
      new Promise<number>((resolve) => {
        const t = process.hrtime.bigint();
        socket.once("data", () => resolve(Number(process.hrtime.bigint() - t) / 1000));
        socket.write(payload);
      });
    const quantile = (values: number[], q: number) =>
      values.sort((a, b) => a - b)[Math.floor(q * (values.length - 1))] ?? Number.NaN;

    for (let i = 0; i < 50; i++) await once();
    const paced: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < rounds; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      paced.push(await once());
    }
    const cpu = process.cpuUsage(cpu0);
    const fast: number[] = [];
    for (let i = 0; i < rounds; i++) fast.push(await once());
    socket.destroy();
    return {
      pacedRoundTripP50Us: round(quantile(paced, 0.5), 0),
      pacedRoundTripP99Us: round(quantile(paced, 0.99), 0),
      pacedCpuPerRoundTripUs: round((cpu.user + cpu.system) / rounds, 0),
      backToBackRoundTripP50Us: round(quantile(fast, 0.5), 0),
    };
  } finally {
    child.stdin.end();
    child.kill();
  }
}
