'use strict';
// Child processes of the benchmark and their CPU time, read from /proc (Linux).
const { spawn, execFileSync } = require('node:child_process');
const { readFileSync, readdirSync } = require('node:fs');
const { createServer } = require('node:net');
const { once } = require('node:events');

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  // 100 on every Linux this runs on
}

/** A port nobody listens on right now, on loopback. */
async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * CPU of one process from /proc/<pid>/stat, or null once it is gone: `cpuUs` its own user + system time,
 * `reapedUs` that of its children that exited and were waited for (cutime + cstime), both in µs.
 */
function readStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  const ticks = Number(fields[11]) + Number(fields[12]);
  const reaped = Number(fields[13]) + Number(fields[14]);
  return { cpuUs: (ticks * 1e6) / clockTicks, reapedUs: (reaped * 1e6) / clockTicks, ppid };
}

/** CPU time (user + system, µs) of one process. */
function processCpuUs(pid) {
  return readStat(pid)?.cpuUs ?? 0;
}

/**
 * CPU time (µs) of a process and all its descendants (e.g. all-in-one and its embedded PostgreSQL, whose
 * backends come and go): the live ones' own time plus what each live one reaped from children that exited,
 * so the total never goes down.
 */
function treeCpuUs(rootPid) {
  const children = new Map();
  const cpu = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(entry);
    if (!stat) continue;
    const pid = Number(entry);
    cpu.set(pid, stat.cpuUs + stat.reapedUs);
    if (!children.has(stat.ppid)) children.set(stat.ppid, []);
    children.get(stat.ppid).push(pid);
  }
  let total = 0;
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop();
    total += cpu.get(pid) ?? 0;
    for (const child of children.get(pid) ?? []) stack.push(child);
  }
  return total;
}

/**
 * Waits until a process tree is quiet: its CPU over one `intervalMs` stays under `quietShare` of one core
 * (an idle gateway uses about 3 %), at most `maxMs`. Returns how long it waited (ms). `pidOrRead` is a pid
 * (its tree is read) or a function giving CPU µs (e.g. the sum of the distributed gateway's processes).
 */
async function waitForQuiet(pidOrRead, { intervalMs = 200, quietShare = 0.06, maxMs = 20_000 } = {}) {
  const read = typeof pidOrRead === 'function' ? pidOrRead : () => treeCpuUs(pidOrRead);
  const started = Date.now();
  let last = read();
  for (;;) {
    await sleep(intervalMs);
    const now = read();
    if (now - last < quietShare * intervalMs * 1000 || Date.now() - started >= maxMs) return Date.now() - started;
    last = now;
  }
}

/** A child process whose output is kept for diagnosis. */
class Child {
  constructor(name, command, args, env, options = {}) {
    this.name = name;
    this.output = '';
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.pid = this.child.pid;
    const keep = (chunk) => {
      this.output += chunk.toString();
      // Keep the tail only: a long run at LOG_LEVEL=warn should print next to nothing, but never grow without bound.
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    };
    this.child.stdout.on('data', keep);
    this.child.stderr.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(code ?? signal)));
  }

  running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitFor(pattern, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (!this.running()) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.output.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${this.output.slice(-4000)}`);
      await sleep(50);
    }
  }

  async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
    if (!this.running()) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Starts a bench helper script (`bench/<script>`) that prints `listening <port>`. */
async function startListeningScript(name, script, env) {
  const child = new Child(name, process.execPath, [script], env);
  const [, port] = await child.waitFor(/listening (\d+)/, 20_000);
  child.port = Number(port);
  return child;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

module.exports = { Child, freePort, processCpuUs, treeCpuUs, waitForQuiet, startListeningScript, sleep };
