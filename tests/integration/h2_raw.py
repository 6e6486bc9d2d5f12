"""A bare HTTP/2 client for tests that must set what ordinary clients will
not (a :scheme of their choice) or see the header blocks as sent (HPACK):
the connection preface and SETTINGS, then batches of GETs whose response
header blocks are decoded in arrival order with the `hpack` package."""

import struct

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 4, 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
BIG_WINDOW = (1 << 30)


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


class H2:
    def __init__(self, sock, authority, scheme):
        self.sock = sock
        self.authority = authority
        self.scheme = scheme
        self.buf = b""
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.block_sizes = []  # of each response header block, in arrival order
        self.block_dates = []  # the date header each of them carried
        # INITIAL_WINDOW_SIZE (0x4) large, and the connection window too, so
        # no WINDOW_UPDATE bookkeeping is needed while reading.
        sock.sendall(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 0x4, BIG_WINDOW))
                     + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", BIG_WINDOW)))

    def read_frame(self):
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed by the server")
            self.buf += chunk
        n = int.from_bytes(self.buf[:3], "big")
        ftype, flags = self.buf[3], self.buf[4]
        stream = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
        payload = self.buf[9:9 + n]
        self.buf = self.buf[9 + n:]
        return ftype, flags, stream, payload

    def get_many(self, path, first_stream, count, extra=()):
        """Sends `count` GETs, returns {stream: headers dict} in arrival order."""
        streams = list(range(first_stream, first_stream + 2 * count, 2))
        out = b""
        for s in streams:
            block = self.encoder.encode([(":method", "GET"), (":scheme", self.scheme),
                                         (":authority", self.authority), (":path", path)] + list(extra))
            out += frame(HEADERS, END_STREAM | END_HEADERS, s, block)
        self.sock.sendall(out)
        answers, done, pending = {}, set(), {}
        while len(done) < len(streams):
            ftype, flags, stream, payload = self.read_frame()
            if ftype == SETTINGS and not flags & ACK:
                self.sock.sendall(frame(SETTINGS, ACK, 0))
            elif ftype == PING and not flags & ACK:
                self.sock.sendall(frame(PING, ACK, 0, payload))
            elif ftype == GOAWAY:
                raise EOFError("GOAWAY: %r" % payload)
            elif ftype in (HEADERS, CONTINUATION):
                if ftype == HEADERS:
                    if flags & PADDED:
                        payload = payload[1:len(payload) - payload[0]]
                    if flags & PRIORITY:
                        payload = payload[5:]
                    pending[stream] = [payload, flags & END_STREAM]
                else:
                    pending[stream][0] += payload
                if flags & END_HEADERS:
                    block, ended = pending.pop(stream)
                    # Blocks are decoded in arrival order, as a client must.
                    answers[stream] = dict(self.decoder.decode(block))
                    self.block_sizes.append(len(block))
                    self.block_dates.append(answers[stream].get("date"))
                    if ended:
                        done.add(stream)
            elif ftype == DATA and flags & END_STREAM:
                done.add(stream)
        return [answers[s] for s in streams]
