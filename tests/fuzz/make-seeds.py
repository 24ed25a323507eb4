#!/usr/bin/env python3
"""Write the first inputs of each fuzz target into tests/fuzz/corpus/NAME.

The fuzzers grew the kept corpus from these (merged with -merge=1, see
README.md); running this again only adds the seeds back, named by their
SHA-1 like libFuzzer's own files.
"""
import hashlib
import os
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, '..', 'unit', 'fixtures')


def put(name, data):
    d = os.path.join(here, 'corpus', name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), 'wb') as f:
        f.write(data)


# rsync's output: a chunking byte, then what rsync prints.
for fx in sorted(os.listdir(fixtures)):
    with open(os.path.join(fixtures, fx), 'rb') as f:
        put('rsync', b'\x07' + f.read())
put('rsync', b'\x01//dir/\n//dir/a\\#012b\n\r      1,024 100%  1.00MB/s    0:00:00 '
    b'(xfr#1, ir-chk=3/9)\nsent 1,234 bytes  received 56 bytes  2,580.00 bytes/sec\n'
    b'total size is 1,024  speedup is 0.79\n')
put('rsync', b'\x02//>f+++++++++ d/new\n//.d..t...... d/\n//cd+++++++++ d/sub/\n'
    b'//>f.st...... d/changed\n')
put('rsync', b'\x03\r   1.50M  50%  10.00MB/s    ??:??:??  \r  3.00G 100%  1.2GB/s    '
    b'1:02:03 (xfr#2, to-chk=0/2)\n')
put('rsync', b'\x04rsync: [receiver] write failed on "/d/f": No space left on device (28)\n'
    b'rsync: [sender] write error: Broken pipe (32)\n'
    b'rsync error: error in file IO (code 11) at receiver.c(381)\n')

# The transfer flags, NUL-separated.
for argv in ([b'-a', b'host', b'-u', b'user', b'-s', b's', b'-d', b'/dst', b'-m', b'2',
              b'-p', b'22', b'-k', b'k'],
             [b'-a', b'h', b'-u', b'u', b'-p', b'2222', b'-k', b'k', b'-c'],
             [b'--address=h', b'--user', b'u', b'--source=s/f', b'--destination', b'd/./x/',
              b'--max-depth=0', b'--sshkey-path=k', b'-vq'],
             [b'-a', b'h', b'-s', b'..', b'-d', b'd', b'-k', b'k'],
             [b'-a', b'-h', b'-u', b'u\nx', b'-p', b'65536'],
             [b'-x'], [b'--help'], [b'--version'], [b'-a'], [b'-cvqh'],
             [b'-a', b'h', b'-u', b'u', b'-s', b's', b'-d', b'd', b'-k', b'k', b'extra']):
    put('options', b'\0'.join(argv))

# Numbers: two bounds, then strings (a final NUL: also as the environment).
put('numbers', struct.pack('>QQ', 1, 65535) + b'22\0' + b'0\0' + b'18446744073709551615\0')
put('numbers', struct.pack('>QQ', 0, 2**64 - 1) + b'4\0' + b'3\0' + b'1024\0' + b'64\0'
    + b'always\0')
put('numbers', struct.pack('>QQ', 5, 7) + b'268435456 bytes (268 MB) copied\0' + b' 1\0'
    + b'18446744073709551616\0never\0')
put('numbers', struct.pack('>QQ', 0, 10) + b'abc')

# Paths and names: three strings.
for t in ([b'/a//b/./c/', b'/a', b'/a/b'], [b"it's $(x) `y`", b'-rf', b'\n'],
          [b'dir/*?[x]\\y', b'h::1', b'..'], [b'caf\xc3\xa9 \xff\xfe \x1b[2J\x7f\xc2\x85',
          b'f.TAR.GZ', b'.'], [b'', b'/', b'']):
    put('paths', b'\0'.join(t))


# query's rows: address, path, bytes, percent, rate bits, eta.
def row(addr, path, nbytes, pct, rate, eta):
    return (addr + b'\0' + path + b'\0' + struct.pack('>Q', nbytes)
            + struct.pack('>I', pct & 0xffffffff) + b'\0\0\0\0' + struct.pack('>d', rate)
            + struct.pack('>q', eta))


put('output', row(b'hpc2', b'/home/a/run1/out.dat', 44564480, 42, 1.74 * 1048576, 33))
put('output', row(b'h', b'/x/\xff\xfe\xc3', 2**64 - 1, -5, float('nan'), -1)
    + row(b'\xe4\xb8\xad', b'/\n\t"\\', 0, 1000, float('inf'), 2**63 - 1))
put('output', row(b'a', b'/b', 1023, 100, 1023.999 * 1024 * 1024, 3599)
    + row(b'a', b'/c', 1000, 0, -3.0, -2**63))


# An sftp-server's answers, ids from 1 (INIT carries the version).
def pkt(t, body):
    return struct.pack('>IB', len(body) + 1, t) + body


def s(b):
    return struct.pack('>I', len(b)) + b


def status(i, code, msg=b''):
    return pkt(101, struct.pack('>II', i, code) + s(msg) + s(b'en'))


def attrs(perm, size=0):
    return struct.pack('>IQI', 0x5, size, perm)


def name_list(i, names):
    body = struct.pack('>II', i, len(names))
    for n, perm in names:
        body += s(n) + s(b'-rw------- ' + n) + attrs(perm)
    return pkt(104, body)


DIR, REG, LNK = 0o040755, 0o100600, 0o120777
version = pkt(2, struct.pack('>I', 3))
session = [version,
           pkt(105, struct.pack('>I', 1) + attrs(DIR)),                   # lstat
           pkt(102, struct.pack('>I', 2) + s(b'H1')),                      # opendir
           name_list(3, [(b'.', DIR), (b'..', DIR), (b'.f.aB3xZ9', REG), (b'x\0y', REG)]),
           status(4, 1),                                                   # readdir: EOF
           status(5, 0),                                                   # close
           status(6, 2, b'No such file'),                                  # remove
           status(7, 4, b'Failure'),                                       # rmdir
           # cleanup: lstat dest/src, dest/src/d, the partial dirs
           pkt(105, struct.pack('>I', 8) + attrs(DIR)),
           pkt(105, struct.pack('>I', 9) + attrs(DIR)),
           status(10, 2),
           pkt(105, struct.pack('>I', 11) + attrs(DIR)),
           pkt(105, struct.pack('>I', 12) + attrs(LNK)),
           # find_tmp in dest/src/d
           pkt(102, struct.pack('>I', 13) + s(b'H2')),
           name_list(14, [(b'.f.Ab12Cd', REG)]),
           status(15, 1), status(16, 0),
           status(17, 2),                                                  # lstat partial
           pkt(102, struct.pack('>I', 18) + s(b'H3')),
           name_list(19, [(b'.f.Ab12Cd', REG)]),
           status(20, 1), status(21, 0),
           pkt(105, struct.pack('>I', 22) + attrs(REG)),
           status(23, 0), status(24, 0)]
put('sftp', b''.join(session))
put('sftp', b''.join(session[:3]))
put('sftp', version + status(1, 3, b'Permission denied'))
put('sftp', pkt(2, struct.pack('>I', 2)))
put('sftp', struct.pack('>I', 300000))
