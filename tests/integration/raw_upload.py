#!/usr/bin/env python3
"""raw_upload: PUT requests curl will not send, over sealboxd's unix socket, for
test_daemon_upload.sh. Prints the status line and body of the answer (or "closed" when the
daemon closed the connection without one).

  raw_upload.py SOCK KEY PATH toolarge SIZE     headers only, Content-Length: SIZE
  raw_upload.py SOCK KEY PATH stall SIZE SENT    Content-Length: SIZE, SENT bytes, then silence
  raw_upload.py SOCK KEY PATH bigchunk SIZE      chunked, one chunk of SIZE bytes
  raw_upload.py SOCK KEY PATH whole SIZE         Content-Length: SIZE and the whole body, unless
                                                 the daemon answers (and closes) first
"""
import socket
import sys


def answer(s):
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = None
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                if length is not None and len(body) >= length:
                    break
    except (ConnectionResetError, BrokenPipeError):
        pass
    if not data:
        return "closed"
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode() + " " + body.decode(errors="replace")


def main():
    sock, key, path, mode, size = sys.argv[1:6]
    size = int(size)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    head = (f"PUT /v1/sandboxes/{path} HTTP/1.1\r\nHost: sealbox\r\n"
            f"Authorization: Bearer {key}\r\n")
    try:
        if mode == "toolarge":
            s.sendall((head + f"Content-Length: {size}\r\n\r\n").encode())
        elif mode == "stall":
            s.sendall((head + f"Content-Length: {size}\r\n\r\n").encode())
            s.sendall(b"x" * int(sys.argv[6]))
        elif mode == "whole":
            s.sendall((head + f"Content-Length: {size}\r\n\r\n").encode())
            for _ in range(size // 65536):
                s.sendall(b"z" * 65536)
            s.sendall(b"z" * (size % 65536))
        elif mode == "bigchunk":
            s.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
            s.sendall(f"{size:x}\r\n".encode() + b"y" * size + b"\r\n0\r\n\r\n")
    except (ConnectionResetError, BrokenPipeError):
        pass
    print(answer(s))


main()
