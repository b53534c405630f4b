#!/usr/bin/env python3
"""CBIS-DDSM from its DICOMs: `featreuse prepare cbis_ddsm_pathology` on a
synthetic copy of the public archive as downloaded (description CSVs whose
`image file path` does not match the NBIA folder names), against an
independent numpy decoding of the same files.

The DICOMs are written by pydicom (Debian's python3-pydicom): 16-bit
MONOCHROME2 with and without rescale slope/intercept, MONOCHROME1, 12 bits
stored in 16 with overlay bits set above them, signed 12-bit with a negative
slope, 8-bit, RLE Lossless (pydicom's encoder), a non-square image (resized),
and JPEG Lossless, JPEG-LS and JPEG 2000 (lossless) copies made by GDCM's
gdcmconv. The numpy side reads the stored values itself (raw little-endian
PixelData; RLE through pydicom's numpy RLE handler; the lossless copies are
compared with their uncompressed source), applies slope/intercept in float64,
negates MONOCHROME1, and scales min-max to 8 bits with floor(x + 1/2); images
that are not 256x256 go through PIL's resize((256, 256), BILINEAR). Every
cached pixel must be equal.

Also: rows whose images cannot be found are skipped and reported (all of them,
with the CSV's file and line), an unsupported transfer syntax is skipped with
a message naming the file and the syntax's UID and name, a folder tree with
the UIDs as folder names (older retrievers) and a subject with two series
resolve, and 2 MPI ranks give the same cache as 1.
"""
import argparse
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, SecondaryCaptureImageStorage, generate_uid

MPEG2 = "1.2.840.10008.1.2.4.100"
GDCMCONV = {  # flag -> transfer syntax gdcmconv writes (lossless by default)
    "--jpeg": "1.2.840.10008.1.2.4.70",
    "--jpegls": "1.2.840.10008.1.2.4.80",
    "--j2k": "1.2.840.10008.1.2.4.90",
}

HEADER = {
    "mass": "patient_id,breast_density,left or right breast,image view,abnormality id,abnormality type,"
    "mass shape,mass margins,assessment,pathology,subtlety,image file path,cropped image file path,"
    "ROI mask file path\n",
    "calc": "patient_id,breast density,left or right breast,image view,abnormality id,abnormality type,"
    "calc type,calc distribution,assessment,pathology,subtlety,image file path,cropped image file path,"
    "ROI mask file path\n",
}


def write_dicom(path, stored, photometric="MONOCHROME2", bits_allocated=16, bits_stored=16, signed=False,
                slope=None, intercept=None, raw=None, syntax=None, preamble=True):
    """`stored`: the stored values (rows x cols); `raw`: the words written (overlay bits included)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage  # as CBIS-DDSM's files
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128 if preamble else None)
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "MG"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits_allocated, bits_stored, bits_stored - 1
    ds.PixelRepresentation = 1 if signed else 0
    if slope is not None:
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    words = stored if raw is None else raw
    dtype = {8: "u1", 16: "<u2"}[bits_allocated]
    ds.PixelData = (words.astype(np.int64) & ((1 << bits_allocated) - 1)).astype(dtype).tobytes()
    if syntax == "rle":
        ds.compress(RLELossless)
    elif syntax is not None:  # a syntax nobody decodes: encapsulated junk
        ds.file_meta.TransferSyntaxUID = syntax
        ds.PixelData = encapsulate([bytes(range(256)) * 8])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path, write_like_original=not preamble)


def numpy_stored(path):
    """The stored values, decoded here: raw PixelData (or pydicom's RLE handler), masked, sign-extended."""
    ds = pydicom.dcmread(path, force=True)
    bits, stored = int(ds.BitsAllocated), int(ds.BitsStored)
    if ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian:
        words = np.frombuffer(ds.PixelData, dtype={8: "u1", 16: "<u2"}[bits]).astype(np.int64)
        words = words.reshape(int(ds.Rows), int(ds.Columns))
    else:
        words = ds.pixel_array.astype(np.int64) & ((1 << bits) - 1)
    v = words & ((1 << stored) - 1)
    if int(ds.PixelRepresentation) == 1:
        v = np.where(v & (1 << (stored - 1)), v - (1 << stored), v)
    return v, ds


def numpy_8bit(path, source=None):
    """The documented rule in float64; `source`: the uncompressed file a lossless copy was made from."""
    v, ds = numpy_stored(source or path)
    r = v.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
    if ds.PhotometricInterpretation == "MONOCHROME1":
        r = -r
    lo, hi = r.min(), r.max()
    if hi == lo:
        return np.zeros(r.shape, np.uint8)
    return np.floor((r - lo) * 255.0 / (hi - lo) + 0.5).astype(np.uint8)


def expected_cached(u8):
    if u8.shape == (256, 256):
        return u8
    return np.asarray(Image.fromarray(u8, "L").resize((256, 256), Image.BILINEAR))


def phantom(rng, rows, cols, lo, hi):
    """A mammogram-like picture: dark background, a bright half-disk, noise; values in [lo, hi]."""
    y, x = np.mgrid[0:rows, 0:cols]
    disk = np.hypot(x / cols, (y - rows / 2) / rows) < 0.45
    blob = np.exp(-((x - cols * 0.3) ** 2 + (y - rows * 0.5) ** 2) / (0.01 * rows * cols))
    base = np.where(disk, 0.6, 0.05) + 0.3 * blob
    v = lo + (hi - lo) * np.clip(base + rng.normal(0, 0.05, (rows, cols)), 0, 1)
    return np.rint(v).astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--featreuse", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--mpirun", default="mpirun")
    args = ap.parse_args()
    gdcmconv = shutil.which("gdcmconv")
    assert gdcmconv, "gdcmconv (libgdcm-tools, scripts/install-deps.sh) is needed for the compressed files"
    work = os.path.abspath(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    root = os.path.join(work, "archive")
    os.makedirs(root)
    rng = np.random.default_rng(16)

    rows = {k: [] for k in ("mass_train", "calc_train", "mass_test", "calc_test")}
    expect = {}    # source (relative to root) -> (file to decode, uncompressed source or None)
    skipped = {}   # CSV path -> substrings its skip message must hold
    counter = [0]

    def uid():
        counter[0] += 1
        return "1.3.6.1.4.1.9590.100.1.2.%d%05d" % (4000000 + counter[0], 10000 + 137 * counter[0])

    def add(table, subject, study, series, malignant, csv_file="000000.dcm"):
        pid = "P_" + subject.split("_P_")[1][:5]
        side, view = subject.split("_")[-2:]
        kind = table.split("_")[0]
        shape = "OVAL,CIRCUMSCRIBED" if kind == "mass" else "PUNCTATE,CLUSTERED"
        path = f"{subject}/{study}/{series}/{csv_file}"
        # The public CSVs have newlines inside the quoted crop/ROI paths.
        crop, roi = f"{subject}_1/{study}/{uid()}/000000.dcm", f"{subject}_1/{study}/{uid()}/000001.dcm"
        pathology = "MALIGNANT" if malignant else "BENIGN"
        rows[table].append(f"{pid},3,{side},{view},1,{kind},{shape},4,{pathology},3,{path},\"{crop}\n\",\"{roi}\n\"")
        return path

    def nbia(subject, study, series, index=1):
        """The NBIA retriever's folders for the CSV's UIDs."""
        return (f"CBIS-DDSM/{subject}/07-20-2016-DDSM-{study[-5:]}/"
                f"{index}.000000-full mammogram images-{series[-5:]}/1-1.dcm")

    n = [0]

    def mammogram(kind, write, table=None, malignant=None, **kw):
        """One image in the NBIA tree, with its CSV row; `write(path)` writes the file."""
        n[0] += 1
        table = table or ("mass_train", "calc_train", "mass_test", "calc_test")[n[0] % 4]
        prefix = {"mass_train": "Mass-Training", "calc_train": "Calc-Training", "mass_test": "Mass-Test",
                  "calc_test": "Calc-Test"}[table]
        subject = f"{prefix}_P_{n[0]:05d}_{'LEFT' if n[0] % 2 else 'RIGHT'}_{'CC' if n[0] % 3 else 'MLO'}"
        study, series = uid(), uid()
        add(table, subject, study, series, malignant if malignant is not None else n[0] % 2 == 0)
        rel = nbia(subject, study, series)
        write(os.path.join(root, rel))
        return kind, rel

    cases = []
    a16 = phantom(rng, 256, 256, 200, 64000)
    cases.append(mammogram("16-bit MONOCHROME2", lambda p: write_dicom(p, a16)))
    cases.append(mammogram("16-bit, slope 0.5 intercept -1024",
                           lambda p: write_dicom(p, phantom(rng, 256, 256, 0, 4095), slope="0.5", intercept="-1024")))
    cases.append(mammogram("16-bit MONOCHROME1", lambda p: write_dicom(p, phantom(rng, 256, 256, 900, 40000),
                                                                         photometric="MONOCHROME1")))
    a12 = phantom(rng, 256, 256, 0, 4095)
    overlay = rng.integers(0, 16, a12.shape) << 12
    cases.append(mammogram("12 bits stored in 16, overlay bits above",
                           lambda p: write_dicom(p, a12, bits_stored=12, raw=a12 | overlay)))
    s12 = phantom(rng, 256, 256, -2048, 2047)
    cases.append(mammogram("signed 12-bit, slope -2, MONOCHROME1",
                           lambda p: write_dicom(p, s12, bits_stored=12, signed=True, slope="-2", intercept="100",
                                                 photometric="MONOCHROME1", raw=(s12 & 0xFFF) | (0x5 << 12))))
    cases.append(mammogram("8-bit", lambda p: write_dicom(p, phantom(rng, 256, 256, 3, 250), bits_allocated=8,
                                                        bits_stored=8)))
    cases.append(mammogram("RLE Lossless (pydicom)",
                           lambda p: write_dicom(p, phantom(rng, 256, 256, 10, 65000), syntax="rle")))
    cases.append(mammogram("non-square 16-bit (resized)", lambda p: write_dicom(p, phantom(rng, 340, 260, 0, 30000))))
    plain = os.path.join(work, "plain.dcm")
    write_dicom(plain, phantom(rng, 256, 256, 100, 50000))
    sources = {}
    for flag, ts in GDCMCONV.items():
        def compress(p, flag=flag):
            os.makedirs(os.path.dirname(p), exist_ok=True)
            subprocess.run([gdcmconv, flag, plain, p], check=True)
        kind, rel = mammogram(f"gdcmconv {flag}", compress)
        got = str(pydicom.dcmread(os.path.join(root, rel), stop_before_pixels=True).file_meta.TransferSyntaxUID)
        assert got == ts, f"gdcmconv {flag} wrote transfer syntax {got}, not {ts}"
        sources[rel] = plain
        cases.append((kind, rel))

    # Older retrievers: the UIDs as folder names, the file as in the CSV (without a preamble here).
    subject, study, series = "Mass-Training_P_00900_LEFT_CC", uid(), uid()
    rel = add("mass_train", subject, study, series, True)
    write_dicom(os.path.join(root, rel), phantom(rng, 256, 256, 0, 60000), preamble=False)
    cases.append(("UID folders, no preamble", rel))
    # Two series under one subject (e.g. a second download): the UIDs' digits decide.
    subject, study, series = "Calc-Training_P_00901_RIGHT_MLO", uid(), uid()
    add("calc_train", subject, study, series, False)
    rel = nbia(subject, study, series, 1)
    write_dicom(os.path.join(root, rel), phantom(rng, 256, 256, 0, 60000))
    write_dicom(os.path.join(root, nbia(subject, uid(), uid(), 2)), phantom(rng, 256, 256, 0, 100))
    cases.append(("two series, matched by UID digits", rel))
    # Not downloaded: reported with the CSV's file and line, skipped.
    for i in range(3):
        missing = add("calc_test", f"Calc-Test_P_0095{i}_LEFT_CC", uid(), uid(), False)
        skipped[missing] = ["calc_case_description_test_set.csv line", "no subject folder"]
    # A transfer syntax GDCM does not decode: skipped, naming the file and the syntax.
    kind, rel = mammogram("MPEG2", lambda p: write_dicom(p, a16, syntax=MPEG2), table="mass_test")
    skipped[rel] = [MPEG2, "MPEG2", "is not one GDCM decodes"]  # the cache keeps the start of long messages
    mpeg2 = rel

    for table, lines in rows.items():
        kind, split = table.split("_")
        with open(os.path.join(root, f"{kind}_case_description_{split}_set.csv"), "w") as f:
            f.write(HEADER[kind] + "".join(line + "\n" for line in lines))

    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    one, two = os.path.join(work, "one.h5"), os.path.join(work, "two.h5")
    prepare = ["prepare", "cbis_ddsm_pathology", "--root", root]
    r = subprocess.run([args.featreuse, *prepare, "--out", one, "--threads", "2"], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    log = r.stdout + r.stderr
    assert f"3 of {len(cases) + 4} items cannot be used" in log and "no subject folder" in log, log
    r = subprocess.run([args.mpirun, "--oversubscribe", "--bind-to", "none", "-np", "2", args.featreuse, *prepare,
                        "--out", two, "--threads", "1"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

    with h5py.File(one, "r") as c, h5py.File(two, "r") as d:
        for key in ("images", "labels", "status", "source", "skipped", "splits/train", "splits/test"):
            assert np.array_equal(c[key][()], d[key][()]), f"{key} differs between 1 and 2 ranks"
        source = [s.decode() for s in c["source"][()]]
        status = c["status"][()]
        images = c["images"][()]
        messages = [s.decode() for s in c["skipped"][()]]
        assert images.shape[1:] == (1, 256, 256), images.shape
        for kind, rel in cases:
            i = source.index(rel)
            assert status[i] == 1, f"{kind}: {rel} not decoded: " + " | ".join(m for m in messages if rel in m)
            want = expected_cached(numpy_8bit(os.path.join(root, rel), sources.get(rel)))
            got = images[i, 0]
            diff = int(np.abs(got.astype(int) - want.astype(int)).max())
            assert diff == 0, f"{kind}: {rel}: {np.count_nonzero(got != want)} pixels differ (max {diff})"
            print(f"ok  {kind}: equal to numpy ({want.min()}..{want.max()})")
        for rel, needles in skipped.items():
            i = source.index(rel)
            assert status[i] == 2, f"{rel} was not skipped"
            text = [m for m in messages if m.startswith(rel)]
            assert text and all(s in text[0] for s in needles), (rel, needles, text)
            print(f"ok  skipped: {text[0]}")
        assert len(messages) == len(skipped), messages
    # The whole message names the file too (short paths: the cache keeps 240 bytes).
    short = os.path.join(work, "short")
    os.makedirs(short)
    shutil.copy(os.path.join(root, mpeg2), os.path.join(short, "m.dcm"))
    open(os.path.join(short, "t.csv"), "w").write("path,label\nm.dcm,0\n")
    r = subprocess.run([args.featreuse, "prepare", "csv", "--root", short, "--csv", "t.csv", "--channels", "1",
                        "--out", os.path.join(work, "short.h5")], env=env, capture_output=True, text=True)
    want = (f"m.dcm: DICOM transfer syntax {MPEG2} (MPEG2 Main Profile @ Main Level) is not one GDCM decodes: "
            f"'{os.path.join(short, 'm.dcm')}'")
    assert want in r.stderr, r.stdout + r.stderr
    print("ok  " + want)
    print(f"ok: {len(cases)} DICOMs equal to numpy pixel for pixel, {len(skipped)} skipped with reasons; "
          "1 and 2 ranks agree")

    # `featreuse synth cbis_ddsm_pathology --dicom`: GDCM-written DICOMs (MONOCHROME2, MONOCHROME1,
    # 12-bit with rescale) in the download tree; every image resolves and equals numpy's decoding.
    synth, cache = os.path.join(work, "synth"), os.path.join(work, "synth.h5")
    subprocess.run([args.featreuse, "synth", "cbis_ddsm_pathology", "--out", synth, "--dicom", "--n", "12",
                    "--size", "200x260"], env=env, check=True, capture_output=True)
    r = subprocess.run([args.featreuse, "prepare", "cbis_ddsm_pathology", "--root", synth, "--out", cache],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Warning" not in r.stderr, "GDCM printed warnings:\n" + r.stderr
    with h5py.File(cache, "r") as c:
        source = [s.decode() for s in c["source"][()]]
        assert len(source) == 12 and (c["status"][()] == 1).all(), (source, c["status"][()])
        kinds = set()
        for i, rel in enumerate(source):
            assert rel.startswith("CBIS-DDSM/") and rel.endswith("/1-1.dcm"), rel
            ds = pydicom.dcmread(os.path.join(synth, rel), stop_before_pixels=True)
            kinds.add((ds.PhotometricInterpretation, int(ds.BitsStored), float(getattr(ds, "RescaleSlope", 1))))
            want = expected_cached(numpy_8bit(os.path.join(synth, rel)))
            assert np.array_equal(c["images"][i, 0], want), f"synth {rel} differs from numpy"
    assert len(kinds) == 3 and ("MONOCHROME2", 12, 2.0) in kinds, kinds
    print(f"ok: synth --dicom: 12 images in the download tree, {len(kinds)} kinds of stored values, equal to numpy")

    # No image at all (the CSVs without the download): one error listing the rows, not a cache.
    empty = os.path.join(work, "csvs_only")
    os.makedirs(empty)
    for name in os.listdir(synth):
        if name.endswith(".csv"):
            shutil.copy(os.path.join(synth, name), empty)
    r = subprocess.run([args.featreuse, "prepare", "cbis_ddsm_pathology", "--root", empty, "--out",
                        os.path.join(work, "empty.h5")], env=env, capture_output=True, text=True)
    assert r.returncode != 0, "a root without images was prepared"
    assert "12 of 12 images in the description CSVs cannot be found" in r.stderr + r.stdout, r.stderr
    assert "(the first 5)" in r.stderr + r.stdout and "no subject folder" in r.stderr + r.stdout, r.stderr
    print("ok: a root with the CSVs only is an error listing the unresolved rows")

    # Damaged compressed files (bytes overwritten in their second half, and cut short): prepare
    # neither crashes nor stops; what cannot be decoded is skipped with a message naming the file.
    damaged = os.path.join(work, "damaged")
    os.makedirs(damaged)
    table = ["path,label"]
    for kind, rel in cases:
        data = open(os.path.join(root, rel), "rb").read()
        meta = pydicom.dcmread(os.path.join(root, rel), stop_before_pixels=True, force=True).file_meta
        if str(meta.TransferSyntaxUID) in (ExplicitVRLittleEndian, "1.2.840.10008.1.2"):
            continue
        for seed in range(4):
            r = np.random.default_rng(seed)
            bad = bytearray(data)
            for p in r.integers(len(bad) // 2, len(bad) - 4, 40):
                bad[p] = int(r.integers(0, 256))
            if seed == 3:
                bad = bad[: len(bad) * 3 // 4]
            name = f"{len(table)}.dcm"
            open(os.path.join(damaged, name), "wb").write(bytes(bad))
            table.append(f"{name},0")
    open(os.path.join(damaged, "t.csv"), "w").write("\n".join(table) + "\n")
    r = subprocess.run([args.featreuse, "prepare", "csv", "--root", damaged, "--csv", "t.csv", "--channels", "1",
                        "--out", os.path.join(work, "damaged.h5")], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    with h5py.File(os.path.join(work, "damaged.h5"), "r") as c:
        status, messages = c["status"][()], [m.decode() for m in c["skipped"][()]]
    assert (status == 2).sum() == len(messages) >= len(table) // 4, (status, messages)
    for m in messages:
        name = m.split(":")[0]
        assert os.path.join(damaged, name) in m, m
    print(f"ok: {len(table) - 1} damaged compressed files: {len(messages)} skipped naming the file, no crash")


if __name__ == "__main__":
    sys.exit(main())
