package cards

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
)

// The PNG chunk layer is written here rather than taken from a library: the
// format is a signature and length-type-data-CRC records (RFC 2083 §3),
// image/png exposes no text chunks, and the Go chunk libraries are GPL,
// partial (tEXt or iTXt only) or unused, none capping inflation (docs/CARDS.md).

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

type chunk struct {
	typ  string
	data []byte
}

// readChunks splits a PNG into its chunks, checking the signature, every
// length against what is left and every CRC, and stopping at IEND.
func readChunks(b []byte) ([]chunk, error) {
	if !bytes.HasPrefix(b, pngSignature) {
		return nil, fail(ReasonNotPNG, "", "the file is not a PNG image")
	}
	b = b[len(pngSignature):]
	var out []chunk
	for {
		if len(b) < 12 {
			return nil, fail(ReasonCorruptPNG, "", "the PNG ends before its IEND chunk")
		}
		n := binary.BigEndian.Uint32(b)
		if n > uint32(len(b)-12) {
			return nil, fail(ReasonCorruptPNG, "", "a PNG chunk is longer than the file")
		}
		typ, data := b[4:8], b[8:8+n]
		sum := binary.BigEndian.Uint32(b[8+n:])
		if crc32.Update(crc32.ChecksumIEEE(typ), crc32.IEEETable, data) != sum {
			return nil, fail(ReasonCorruptPNG, "", "a PNG chunk fails its checksum")
		}
		out = append(out, chunk{typ: string(typ), data: data})
		b = b[12+n:]
		if string(typ) == "IEND" {
			return out, nil
		}
	}
}

// writeChunk appends one chunk with its length and CRC.
func writeChunk(w *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	w.WriteString(typ)
	w.Write(data)
	crc := crc32.Update(crc32.ChecksumIEEE([]byte(typ)), crc32.IEEETable, data)
	binary.BigEndian.PutUint32(n[:], crc)
	w.Write(n[:])
}

// textChunk decodes a tEXt, zTXt or iTXt chunk into its keyword and text.
// Compressed text is inflated through a limit: at most maxText bytes come
// out, so a chunk that would inflate further (a zip bomb) costs at most
// maxText bytes of work before it is refused.
func textChunk(c chunk, maxText int) (keyword string, text []byte, err error) {
	kw, rest, ok := bytes.Cut(c.data, []byte{0})
	if !ok || len(kw) == 0 || len(kw) > 79 {
		return "", nil, fail(ReasonCorruptPNG, "", "a PNG text chunk has no valid keyword")
	}
	keyword = string(kw)
	switch c.typ {
	case "tEXt":
		return keyword, rest, nil
	case "zTXt":
		if len(rest) < 1 || rest[0] != 0 {
			return "", nil, fail(ReasonCorruptPNG, "", "a PNG zTXt chunk uses an unknown compression method")
		}
		text, err = inflate(rest[1:], maxText)
		return keyword, text, err
	case "iTXt":
		if len(rest) < 2 {
			return "", nil, fail(ReasonCorruptPNG, "", "a PNG iTXt chunk is truncated")
		}
		compressed, method := rest[0], rest[1]
		rest = rest[2:]
		// language tag and translated keyword, both NUL-terminated
		for range 2 {
			var found bool
			if _, rest, found = bytes.Cut(rest, []byte{0}); !found {
				return "", nil, fail(ReasonCorruptPNG, "", "a PNG iTXt chunk is truncated")
			}
		}
		switch {
		case compressed == 0:
			return keyword, rest, nil
		case compressed == 1 && method == 0:
			text, err = inflate(rest, maxText)
			return keyword, text, err
		default:
			return "", nil, fail(ReasonCorruptPNG, "", "a PNG iTXt chunk uses an unknown compression method")
		}
	}
	return "", nil, errors.New("cards: not a text chunk: " + c.typ)
}

func inflate(data []byte, maxText int) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fail(ReasonCorruptPNG, "", "a compressed PNG text chunk is not valid zlib data")
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, int64(maxText)+1))
	if len(out) > maxText {
		return nil, fail(ReasonTooLarge, "", "a compressed PNG text chunk inflates beyond %d bytes", maxText)
	}
	if err != nil {
		return nil, fail(ReasonCorruptPNG, "", "a compressed PNG text chunk is not valid zlib data")
	}
	return out, nil
}
