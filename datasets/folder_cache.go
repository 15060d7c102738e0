package datasets

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"

	"github.com/lathe-ml/lathe/internal/atomicfile"
)

// An image folder's cache holds its images decoded, one byte a value:
//
//	"LATHE-IMGCACHE-1"             16 bytes
//	images, bytes per image        uint32 each, little-endian
//	per image: path length (uint16), path, size and modification time
//	(int64 each, ns)
//	the pixels, image after image
//
// It is used only when it lists exactly the folder's images, each with
// its size and modification time; anything else (another image, a
// changed one, a damaged file) makes LoadFolder decode again and rewrite
// it.
const folderCacheMagic = "LATHE-IMGCACHE-1"

func writeFolderCache(path string, files []folderFile, pixels []uint8, size int) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		var b bytes.Buffer
		b.WriteString(folderCacheMagic)
		binary.Write(&b, binary.LittleEndian, [2]uint32{uint32(len(files)), uint32(size)})
		for _, f := range files {
			binary.Write(&b, binary.LittleEndian, uint16(len(f.path)))
			b.WriteString(f.path)
			binary.Write(&b, binary.LittleEndian, [2]int64{f.size, f.mtime})
		}
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
		_, err := w.Write(pixels)
		return err
	})
}

// readFolderCache returns the cached pixels of files, or false when the
// cache is missing, damaged or out of date.
func readFolderCache(path string, files []folderFile, size int) ([]uint8, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	return parseFolderCache(data, files, size)
}

func parseFolderCache(data []byte, files []folderFile, size int) ([]uint8, bool) {
	r := bytes.NewReader(data)
	magic := make([]byte, len(folderCacheMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != folderCacheMagic {
		return nil, false
	}
	var head [2]uint32
	if binary.Read(r, binary.LittleEndian, &head) != nil || int(head[0]) != len(files) || int(head[1]) != size {
		return nil, false
	}
	for _, f := range files {
		var n uint16
		if binary.Read(r, binary.LittleEndian, &n) != nil || int(n) != len(f.path) {
			return nil, false
		}
		name := make([]byte, n)
		if _, err := io.ReadFull(r, name); err != nil || string(name) != f.path {
			return nil, false
		}
		var stamp [2]int64
		if binary.Read(r, binary.LittleEndian, &stamp) != nil || stamp[0] != f.size || stamp[1] != f.mtime {
			return nil, false
		}
	}
	rest := data[len(data)-r.Len():]
	if len(rest) != len(files)*size {
		return nil, false
	}
	return rest, true
}
