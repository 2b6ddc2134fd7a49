// A PostgreSQL server inside the benchmark process, for measuring the CPU a client library spends per statement
// without a socket, a kernel or a server in the figure: `installInProcessServer()` replaces `net.Socket` (which
// postgres.js uses for its connections) with an in-memory socket that speaks the wire protocol. It answers just
// enough for the bench_items point operations: the startup handshake, Parse / Describe / Bind / Execute / Sync,
// and simple queries; a statement on bench_items returns one row of bench_items (as a SELECT, INSERT … RETURNING
// or UPDATE … RETURNING would), `select 1` one row, anything else no rows. Answers arrive on a later turn of the
// event loop (setImmediate), as a socket read would. Not a server: no SQL is run and no data is kept.
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { setImmediate } from 'node:timers';
import net from 'node:net';

const INT8 = 20;
const INT4 = 23;
const TEXT = 25;
const TIMESTAMPTZ = 1184;
const ITEM_COLUMNS = [
  ['id', INT8],
  ['name', TEXT],
  ['qty', INT4],
  ['created_at', TIMESTAMPTZ],
  ['updated_at', TIMESTAMPTZ],
];
const STAMP = '2026-12-01 21:00:00.123456+00';

/** One backend message: type byte, length, body. */
function message(type, body) {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type.charCodeAt(0);
  out.writeUInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const int16 = (n) => {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(n);
  return b;
};
const int32 = (n) => {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n);
  return b;
};
const cstr = (s) => Buffer.from(`${s}\0`);

const READY = message('Z', Buffer.from('I'));
const PARSE_COMPLETE = message('1', Buffer.alloc(0));
const BIND_COMPLETE = message('2', Buffer.alloc(0));
const NO_DATA = message('n', Buffer.alloc(0));
const CLOSE_COMPLETE = message('3', Buffer.alloc(0));

function rowDescription(columns) {
  const parts = [int16(columns.length)];
  for (const [name, oid] of columns) {
    parts.push(cstr(name), int32(0), int16(0), int32(oid), int16(-1), int32(-1), int16(0));
  }
  return message('T', Buffer.concat(parts));
}

function dataRow(values) {
  const parts = [int16(values.length)];
  for (const v of values) {
    const b = Buffer.from(v);
    parts.push(int32(b.length), b);
  }
  return message('D', Buffer.concat(parts));
}

const ITEM_DESCRIPTION = rowDescription(ITEM_COLUMNS);
const ONE_DESCRIPTION = rowDescription([['?column?', INT4]]);
const ONE_ROW = dataRow(['1']);

/** What a statement answers: its row description and rows, and its command tag. */
function shapeOf(text) {
  const verb = /^\s*(\w+)/.exec(text)?.[1]?.toLowerCase() ?? '';
  if (/bench_items/.test(text)) {
    const tag =
      verb === 'insert' ? 'INSERT 0 1' : verb === 'update' ? 'UPDATE 1' : verb === 'delete' ? 'DELETE 1' : 'SELECT 1';
    const returns = verb === 'select' || /returning/i.test(text);
    return {
      description: returns ? ITEM_DESCRIPTION : undefined,
      rows: returns ? [dataRow(['5', 'item 5', '5', STAMP, STAMP])] : [],
      tag: cstr(returns || verb !== 'select' ? tag : 'SELECT 0'),
    };
  }
  if (/typarray/.test(text)) {
    // postgres.js's array-type lookup on a new connection: text[] (1009) is enough for it to settle.
    return {
      description: rowDescription([
        ['oid', INT4],
        ['typarray', INT4],
      ]),
      rows: [dataRow(['25', '1009'])],
      tag: cstr('SELECT 1'),
    };
  }
  if (/^\s*select\s+1\s*$/i.test(text)) return { description: ONE_DESCRIPTION, rows: [ONE_ROW], tag: cstr('SELECT 1') };
  if (verb === 'select') return { description: ONE_DESCRIPTION, rows: [], tag: cstr('SELECT 0') };
  return { description: undefined, rows: [], tag: cstr(verb.toUpperCase() || 'EMPTY') };
}

/** An in-memory socket with the server on the other end. */
class InProcessSocket extends EventEmitter {
  readyState = 'opening';
  #incoming = Buffer.alloc(0);
  #started = false;
  #out = [];
  #flushing = false;
  /** Prepared statements by name; '' is the unnamed one. */
  #statements = new Map();
  #portal = undefined;

  connect() {
    setImmediate(() => {
      this.readyState = 'open';
      this.emit('connect');
    });
    return this;
  }

  setKeepAlive() {
    return this;
  }

  setNoDelay() {
    return this;
  }

  write(chunk, callback) {
    this.#incoming = this.#incoming.length === 0 ? chunk : Buffer.concat([this.#incoming, chunk]);
    this.#consume();
    if (typeof callback === 'function') setImmediate(callback);
    return true;
  }

  end(chunk) {
    if (chunk) this.write(chunk);
    this.destroy();
  }

  destroy() {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    setImmediate(() => this.emit('close', false));
  }

  #send(buffer) {
    this.#out.push(buffer);
    if (this.#flushing) return;
    this.#flushing = true;
    setImmediate(() => {
      this.#flushing = false;
      const out = this.#out.length === 1 ? this.#out[0] : Buffer.concat(this.#out);
      this.#out = [];
      if (this.readyState === 'open') this.emit('data', out);
    });
  }

  #consume() {
    let buf = this.#incoming;
    if (!this.#started) {
      if (buf.length < 4 || buf.length < buf.readUInt32BE(0)) return;
      buf = buf.subarray(buf.readUInt32BE(0));
      this.#started = true;
      this.#send(
        Buffer.concat([
          message('R', int32(0)),
          message('S', Buffer.concat([cstr('server_version'), cstr('17.0')])),
          message('S', Buffer.concat([cstr('client_encoding'), cstr('UTF8')])),
          message('S', Buffer.concat([cstr('integer_datetimes'), cstr('on')])),
          message('K', Buffer.concat([int32(4242), int32(1)])),
          READY,
        ]),
      );
    }
    while (buf.length >= 5) {
      const length = buf.readUInt32BE(1);
      if (buf.length < length + 1) break;
      this.#handle(String.fromCharCode(buf[0]), buf.subarray(5, length + 1));
      buf = buf.subarray(length + 1);
    }
    this.#incoming = buf;
  }

  #handle(type, body) {
    switch (type) {
      case 'P': {
        const nameEnd = body.indexOf(0);
        const name = body.toString('utf8', 0, nameEnd);
        const textEnd = body.indexOf(0, nameEnd + 1);
        const text = body.toString('utf8', nameEnd + 1, textEnd);
        const count = body.readUInt16BE(textEnd + 1);
        const types = [];
        for (let i = 0; i < count; i++) types.push(body.readUInt32BE(textEnd + 3 + i * 4) || TEXT);
        const params = new Set(text.match(/\$\d+/g) ?? []).size;
        while (types.length < params) types.push(TEXT);
        this.#statements.set(name, { text, types, shape: shapeOf(text) });
        this.#send(PARSE_COMPLETE);
        return;
      }
      case 'D': {
        const kind = String.fromCharCode(body[0]);
        const name = body.toString('utf8', 1, body.indexOf(0, 1));
        const statement = kind === 'S' ? this.#statements.get(name) : this.#portal;
        if (kind === 'S') {
          const types = statement?.types ?? [];
          this.#send(message('t', Buffer.concat([int16(types.length), ...types.map(int32)])));
        }
        this.#send(statement?.shape.description ?? NO_DATA);
        return;
      }
      case 'B': {
        const portalEnd = body.indexOf(0);
        const name = body.toString('utf8', portalEnd + 1, body.indexOf(0, portalEnd + 1));
        this.#portal = this.#statements.get(name);
        this.#send(BIND_COMPLETE);
        return;
      }
      case 'E': {
        const shape = this.#portal?.shape;
        if (shape) for (const row of shape.rows) this.#send(row);
        this.#send(message('C', shape?.tag ?? cstr('SELECT 0')));
        return;
      }
      case 'S':
        this.#send(READY);
        return;
      case 'Q': {
        const text = body.toString('utf8', 0, body.length - 1);
        for (const part of text.split(';').filter((s) => s.trim() !== '')) {
          const shape = shapeOf(part);
          if (shape.description) this.#send(shape.description);
          for (const row of shape.rows) this.#send(row);
          this.#send(message('C', shape.tag));
        }
        this.#send(READY);
        return;
      }
      case 'C':
        this.#send(CLOSE_COMPLETE);
        return;
      case 'X':
        this.destroy();
        return;
      default:
      // Flush ('H') and anything else: answers go out on the next turn anyway.
    }
  }
}

/**
 * Makes every `net.Socket` created from now on an in-process server connection (postgres.js creates its sockets
 * with `new net.Socket()`). Returns a function that puts the real one back.
 */
export function installInProcessServer() {
  // Node makes process.stdout / stderr on first use, from net.Socket when they are pipes: make them real ones now.
  void process.stdout;
  void process.stderr;
  const real = net.Socket;
  net.Socket = InProcessSocket;
  return () => {
    net.Socket = real;
  };
}
