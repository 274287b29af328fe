"""QUIC long-header packets, and the client's Initial packets decrypted to reach its ClientHello.

A QUIC Initial is protected with keys anyone can derive from the packet's own Destination
Connection ID (RFC 9001 section 5.2; RFC 9369 for version 2): that is by design, and it is how
a firewall or this tool reads the server name an HTTP/3 client asks for.  :func:`open_initial`
removes header protection and decrypts one Initial; :func:`crypto_frames` lists the CRYPTO
data it carries (the TLS ClientHello, possibly spread over several packets and datagrams).

Packet parsers: a UDP datagram is complete, so a cut packet is a ParseError, never "need more".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from parsers.errors import ParseError

_U32 = struct.Struct("!I")
QUIC_V1 = 0x00000001
QUIC_V2 = 0x6B3343CF
INITIAL, ZERO_RTT, HANDSHAKE, RETRY = range(4)

# Initial salts: RFC 9001 section 5.2, RFC 9369 section 3.3.1, and the drafts 23 to 34 (still seen
# from older clients; tshark reads them too).
_SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
_SALT_V2 = bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9")
_SALT_DRAFT_29 = bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899")
_SALT_DRAFT_23 = bytes.fromhex("c3eef712c72ebb5a11a7d2432bb46365bef9f502")  # drafts 23 to 28
MAX_CRYPTO_OFFSET = 1 << 16  # a ClientHello lies well within the first 64 KiB of the CRYPTO stream


@dataclass(frozen=True, slots=True)
class LongHeader:
    version: int
    packet_type: int  # 0 Initial, 1 0-RTT, 2 Handshake, 3 Retry (v1 numbering; v2 is mapped)
    dcid: bytes
    scid: bytes


@dataclass(frozen=True, slots=True)
class InitialKeys:
    key: bytes  # AEAD_AES_128_GCM key
    iv: bytes
    hp: bytes  # header protection key (AES-128-ECB)


@dataclass(frozen=True, slots=True)
class InitialPacket:
    header: LongHeader
    packet_number: int
    payload: bytes  # the decrypted frames
    length: int  # bytes of the datagram this packet occupied (coalesced packets follow it)


def is_known_version(version: int) -> bool:
    # v1, v2, the IETF drafts (0xff0000xx) and Google's Q0xx/T0xx on IETF framing.
    return version in (QUIC_V1, QUIC_V2) or (version >> 8) == 0xFF0000 or version >> 24 in (0x51, 0x54)


def parse_long_header(buf: bytes) -> LongHeader | None:
    """Return the long header, ``None`` if too short to tell, or raise if it is not QUIC."""
    if len(buf) < 7:
        return None
    first = buf[0]
    if first & 0xC0 != 0xC0:
        raise ParseError("not a QUIC long header (form/fixed bits)", "quic")
    version = _U32.unpack_from(buf, 1)[0]
    if not is_known_version(version):
        raise ParseError(f"unknown QUIC version 0x{version:08x}", "quic")
    dlen = buf[5]
    if dlen > 20:
        raise ParseError(f"QUIC destination connection id of {dlen} bytes", "quic")
    if len(buf) < 7 + dlen:
        return None
    dcid = bytes(buf[6 : 6 + dlen])
    slen = buf[6 + dlen]
    if slen > 20:
        raise ParseError(f"QUIC source connection id of {slen} bytes", "quic")
    if len(buf) < 7 + dlen + slen:
        return None
    scid = bytes(buf[7 + dlen : 7 + dlen + slen])
    ptype = (first >> 4) & 0x03
    if version == QUIC_V2:  # v2 rotates the packet type codes (RFC 9369 section 3.2)
        ptype = {1: 0, 2: 1, 3: 2, 0: 3}[ptype]
    return LongHeader(version, ptype, dcid, scid)


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """A variable-length integer (RFC 9000 section 16) at ``pos``: (value, position after it)."""
    if pos >= len(buf):
        raise ParseError("variable-length integer cut short", "quic")
    first = buf[pos]
    size = 1 << (first >> 6)
    if pos + size > len(buf):
        raise ParseError("variable-length integer cut short", "quic")
    value = first & 0x3F
    for i in range(1, size):
        value = (value << 8) | buf[pos + i]
    return value, pos + size


# -- keys ------------------------------------------------------------------------------------------


def _expand_label(secret: bytes, label: bytes, length: int) -> bytes:
    """HKDF-Expand-Label (RFC 8446 section 7.1) with SHA-256, for outputs of one hash block."""
    import hashlib
    import hmac

    full = b"tls13 " + label
    info = struct.pack("!HB", length, len(full)) + full + b"\x00"
    return hmac.new(secret, info + b"\x01", hashlib.sha256).digest()[:length]


def client_initial_keys(version: int, dcid: bytes) -> InitialKeys | None:
    """The client's Initial keys for a connection that starts with ``dcid``; None for a version
    whose Initial protection is not the IETF one (Google QUIC)."""
    if version == QUIC_V1 or 0xFF000021 <= version <= 0xFF000022:  # drafts 33 and 34 took the final salt
        salt, prefix = _SALT_V1, b"quic "
    elif version == QUIC_V2:
        salt, prefix = _SALT_V2, b"quicv2 "
    elif 0xFF00001D <= version <= 0xFF000020:
        salt, prefix = _SALT_DRAFT_29, b"quic "
    elif 0xFF000017 <= version <= 0xFF00001C:
        salt, prefix = _SALT_DRAFT_23, b"quic "
    else:
        return None
    # hashlib and hmac load with the first QUIC connection: most captures have none (2.4 ms a run).
    import hashlib
    import hmac

    initial = hmac.new(salt, dcid, hashlib.sha256).digest()  # HKDF-Extract
    secret = _expand_label(initial, b"client in", 32)
    return InitialKeys(
        _expand_label(secret, prefix + b"key", 16),
        _expand_label(secret, prefix + b"iv", 12),
        _expand_label(secret, prefix + b"hp", 16),
    )


# -- packets ---------------------------------------------------------------------------------------


def long_packet_length(buf: bytes) -> int:
    """Bytes the long-header packet at the start of ``buf`` occupies (to step to a coalesced one)."""
    header = parse_long_header(buf)
    if header is None:
        raise ParseError("QUIC long header cut short", "quic")
    if header.packet_type == RETRY:
        return len(buf)  # a Retry runs to the end of the datagram
    pos = 7 + len(header.dcid) + len(header.scid)
    if header.packet_type == INITIAL:
        token_len, pos = read_varint(buf, pos)
        pos += token_len
    length, pos = read_varint(buf, pos)
    if pos + length > len(buf):
        raise ParseError(f"QUIC packet of {length} bytes runs past the datagram", "quic")
    return pos + length


def open_initial(buf: bytes, keys: InitialKeys | None = None) -> InitialPacket:
    """Decrypt the Initial packet at the start of ``buf`` with ``keys`` (by default those of its
    own Destination Connection ID, right for a client's first flight)."""
    header = parse_long_header(buf)
    if header is None:
        raise ParseError("QUIC long header cut short", "quic")
    if header.packet_type != INITIAL:
        raise ParseError(f"QUIC packet type {header.packet_type} is not an Initial", "quic")
    if keys is None:
        keys = client_initial_keys(header.version, header.dcid)
        if keys is None:
            raise ParseError(f"no Initial keys for QUIC version 0x{header.version:08x}", "quic")
    pos = 7 + len(header.dcid) + len(header.scid)
    token_len, pos = read_varint(buf, pos)
    pos += token_len
    length, pn_offset = read_varint(buf, pos)
    end = pn_offset + length
    if end > len(buf) or length < 20:
        raise ParseError(f"QUIC Initial of {length} bytes does not fit the datagram", "quic")
    # Header protection (RFC 9001 section 5.4): the mask comes from 16 bytes sampled 4 bytes
    # after the start of the packet number, whatever the packet number's length.
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    sample = buf[pn_offset + 4 : pn_offset + 20]
    encryptor = Cipher(algorithms.AES(keys.hp), modes.ECB()).encryptor()
    mask = encryptor.update(sample) + encryptor.finalize()
    first = buf[0] ^ (mask[0] & 0x0F)
    pn_len = (first & 0x03) + 1
    pn_bytes = bytes(b ^ m for b, m in zip(buf[pn_offset : pn_offset + pn_len], mask[1 : 1 + pn_len], strict=True))
    packet_number = int.from_bytes(pn_bytes, "big")
    aad = bytes([first]) + bytes(buf[1:pn_offset]) + pn_bytes
    nonce = (int.from_bytes(keys.iv, "big") ^ packet_number).to_bytes(12, "big")
    try:
        payload = AESGCM(keys.key).decrypt(nonce, bytes(buf[pn_offset + pn_len : end]), aad)
    except Exception as exc:  # cryptography's InvalidTag: wrong keys, or not what it seems
        raise ParseError("QUIC Initial does not decrypt with its Initial keys", "quic") from exc
    return InitialPacket(header, packet_number, payload, end)


# -- frames ----------------------------------------------------------------------------------------


def crypto_frames(payload: bytes) -> list[tuple[int, bytes]]:
    """The (offset, data) of every CRYPTO frame in a decrypted Initial, in packet order.

    Only the frames RFC 9000 (section 12.4) allows in an Initial are expected: PADDING, PING,
    ACK, CRYPTO and CONNECTION_CLOSE; anything else means the packet is not what it seems.
    """
    out: list[tuple[int, bytes]] = []
    pos = 0
    n = len(payload)
    while pos < n:
        ftype = payload[pos]
        if ftype in (0x00, 0x01):  # PADDING, PING
            pos += 1
        elif ftype in (0x02, 0x03):  # ACK, ACK with ECN counts
            pos += 1
            _largest, pos = read_varint(payload, pos)
            _delay, pos = read_varint(payload, pos)
            ranges, pos = read_varint(payload, pos)
            _first, pos = read_varint(payload, pos)
            for _ in range(ranges):
                _gap, pos = read_varint(payload, pos)
                _len, pos = read_varint(payload, pos)
            if ftype == 0x03:
                for _ in range(3):
                    _count, pos = read_varint(payload, pos)
        elif ftype == 0x06:  # CRYPTO
            offset, pos = read_varint(payload, pos + 1)
            length, pos = read_varint(payload, pos)
            if pos + length > n:
                raise ParseError("QUIC CRYPTO frame runs past its packet", "quic")
            if offset + length > MAX_CRYPTO_OFFSET:
                raise ParseError(f"QUIC CRYPTO data at offset {offset} is implausible in an Initial", "quic")
            out.append((offset, bytes(payload[pos : pos + length])))
            pos += length
        elif ftype in (0x1C, 0x1D):  # CONNECTION_CLOSE
            _code, pos = read_varint(payload, pos + 1)
            if ftype == 0x1C:
                _frame, pos = read_varint(payload, pos)
            reason, pos = read_varint(payload, pos)
            if pos + reason > n:
                raise ParseError("QUIC CONNECTION_CLOSE reason runs past its packet", "quic")
            pos += reason
        else:
            raise ParseError(f"QUIC frame type 0x{ftype:02x} is not allowed in an Initial", "quic")
    return out
