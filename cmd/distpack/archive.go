package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// modTime is the time stamped on every archive entry: archives of the same
// files are byte for byte the same, so their sha256 only changes with them.
var modTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func archiveCmd(args []string) error {
	fs := flag.NewFlagSet("archive", flag.ExitOnError)
	out := fs.String("o", "", "archive to write: .tar.gz or .zip")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return errors.New("archive: -o and at least one file are required")
	}
	return writeArchive(*out, fs.Args())
}

// writeArchive puts files, by their base names, at the root of a .tar.gz
// or .zip archive. Regular files only (Krew refuses links); the executable
// bit is kept.
func writeArchive(out string, files []string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	switch {
	case strings.HasSuffix(out, ".tar.gz"):
		err = writeTarGz(f, files)
	case strings.HasSuffix(out, ".zip"):
		err = writeZip(f, files)
	default:
		err = fmt.Errorf("%s: want .tar.gz or .zip", out)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
	}
	return err
}

// entry opens a regular file and returns its archive mode (0755 or 0644).
func entry(path string) (*os.File, os.FileInfo, int64, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, 0, fmt.Errorf("%s: not a regular file", path)
	}
	mode := int64(0o644)
	if fi.Mode()&0o111 != 0 {
		mode = 0o755
	}
	f, err := os.Open(path)
	return f, fi, mode, err
}

func writeTarGz(w io.Writer, files []string) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, path := range files {
		f, fi, mode, err := entry(path)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: filepath.Base(path), Mode: mode, Size: fi.Size(), ModTime: modTime,
			Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			f.Close()
			return err
		}
		_, err = io.Copy(tw, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, files []string) error {
	zw := zip.NewWriter(w)
	for _, path := range files {
		f, _, mode, err := entry(path)
		if err != nil {
			return err
		}
		hdr := &zip.FileHeader{Name: filepath.Base(path), Method: zip.Deflate, Modified: modTime}
		hdr.SetMode(os.FileMode(mode))
		dst, err := zw.CreateHeader(hdr)
		if err == nil {
			_, err = io.Copy(dst, f)
		}
		f.Close()
		if err != nil {
			return err
		}
	}
	return zw.Close()
}
