"""The data commands: `dcgan prepare`, `dcgan download`, `dcgan imagenet`, `dcgan faces`, `dcgan crawl`,
`dcgan datasets`.

`add_commands(subparsers)` registers them on the main `dcgan` parser. Heavy packages load inside the
command functions only. User errors are `dcgan.errors` exceptions, which the main CLI prints as
`dcgan CMD: error: ...` with exit status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dcgan.cli._flags import add_split_seed
from dcgan.datasets.download import LSUN_CATEGORIES, SOURCES
from dcgan.errors import ConfigError, DataError


def cmd_prepare(args: argparse.Namespace) -> None:
    from dcgan.data import PrepareOptions, prepare
    from dcgan.datasets import celeba
    from dcgan.splits import by_hash

    partition = args.partition
    if args.identities is not None:
        if partition is not None or not args.split:
            raise DataError("--identities splits by person with the --split fractions; give --split, not --partition")
        assignment = celeba.by_identity(args.identities, args.split, args.split_seed)
    else:
        if partition is None and args.split and args.src.is_dir():
            partition = celeba.find_partition(args.src)
            if partition is not None:
                print(f"{partition} found: splitting by CelebA's official partition instead of --split {args.split}")
        if partition is None:
            assignment = by_hash(args.split, args.split_seed)
        else:
            assignment = celeba.by_partition(args.src, partition)
    prepare(args.src, args.out, PrepareOptions(args.size, args.crop, args.grayscale), assignment, workers=args.workers)


def cmd_download(args: argparse.Namespace) -> None:
    from dcgan.datasets.get import download_dataset

    options = {"mirror": args.mirror, "retries": args.retries, "timeout": args.timeout}
    if args.dataset == "lsun":
        options.update(category=args.category, subset=args.subset, limit=args.limit)
    elif args.limit is not None:
        raise ConfigError("--limit applies to lsun only")
    result = download_dataset(args.dataset, args.out, **options)
    count = result.get("count", result.get("counts"))
    print(f"{args.dataset}: {count} images in {result['images']}")
    print("next:")
    for line in result["next"]:
        print(f"  {line}")


def cmd_imagenet(args: argparse.Namespace) -> None:
    from dcgan.data import PrepareOptions, prepare
    from dcgan.datasets.imagenet import by_classes, parse_classes

    root, assignment = by_classes(
        args.src, parse_classes(args.classes), args.limit_per_class, split=args.split, seed=args.split_seed
    )
    opts = PrepareOptions(args.size, args.crop, args.grayscale)
    manifest = prepare(root, args.out, opts, assignment, workers=args.workers)
    facts = manifest.get("imagenet", {})
    print(
        f"imagenet: {manifest.get('count')} images of {len(facts.get('classes', []))} classes in {args.out}"
        + (f" ({manifest['counts']})" if manifest.get("counts") else "")
    )


def cmd_faces(args: argparse.Namespace) -> None:
    from dcgan.datasets.faces import FaceOptions, MtcnnDetector, build_faces

    opts = FaceOptions(
        size=args.size,
        margin=args.margin,
        min_face=args.min_face,
        min_score=args.min_score,
        dup_distance=args.dup_distance,
        image_format=args.format,
        max_outside=args.max_outside,
    )
    manifest = build_faces(args.src, args.out, opts, MtcnnDetector(threads=args.threads), force=args.force)
    print(
        f"next: dcgan prepare {args.out} --out data/{Path(args.out).name}{args.size} --size {args.size} "
        f"--crop none  (the faces are aligned squares already)"
    )
    if not manifest["faces"]:
        print("note: no face was written; see skipped_by_reason in " + str(Path(args.out) / "faces.json"))


def cmd_crawl(args: argparse.Namespace) -> None:
    from dcgan.crawl import DEFAULT_USER_AGENT, CrawlOptions, crawl, read_url_list, summary

    options = CrawlOptions(
        out=args.out,
        urls=read_url_list(args.urls) if args.urls else [],
        start=args.start or [],
        depth=args.depth,
        allow=args.allow,
        deny=args.deny,
        user_agent=args.user_agent or DEFAULT_USER_AGENT,
        rate=args.rate,
        max_file_mb=args.max_file_mb,
        max_total_mb=args.max_total_mb,
        min_side=args.min_side,
        dup_distance=args.dup_distance,
        allow_private=args.allow_private,
        timeout=args.timeout,
        retries=args.retries,
        backoff=args.backoff,
        max_redirects=args.max_redirects,
        verbose=args.verbose,
    )
    manifest = crawl(options)
    print(summary(manifest))
    if not args.faces:
        print(f"next: dcgan faces {args.out} --out {Path(args.out) / 'faces'} --force")
        return
    if not manifest["images"]:
        print("faces: no image kept, nothing to align")
        return
    from dcgan.datasets.faces import FaceOptions, MtcnnDetector, build_faces

    faces = build_faces(
        args.out, Path(args.out) / "faces", FaceOptions(size=args.face_size), MtcnnDetector(), force=True
    )
    print(f"faces: {len(faces['faces'])} aligned {args.face_size}×{args.face_size} faces in {Path(args.out) / 'faces'}")


def cmd_datasets(args: argparse.Namespace) -> None:
    from dcgan.datasets.listing import format_table, list_prepared

    print(format_table(list_prepared(args.root)))


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("prepare", help="images (folder or .tar) → uint8 cache with manifest")
    p.add_argument("src", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--size", type=int, default=64)
    p.add_argument(
        "--crop",
        choices=("center", "celeba", "none"),
        default="center",
        help="center: centre square; celeba: the DCGAN CelebA crop (108×108 at (35, 55) of 178×218, scaled to "
        "the image); none: resize the whole image",
    )
    p.add_argument("--grayscale", action="store_true")
    p.add_argument("--split", help="train,val,test fractions, e.g. 0.9,0.05,0.05")
    p.add_argument(
        "--partition",
        type=Path,
        default=None,
        help="CelebA's list_eval_partition.txt: split by it (0 train, 1 val, 2 test) instead of the name hash; "
        "used automatically with --split when SRC holds that file",
    )
    p.add_argument(
        "--identities",
        type=Path,
        default=None,
        help="CelebA's identity_CelebA.txt: split by a hash of each image's person id with the --split fractions, "
        "so no person is in two splits",
    )
    add_split_seed(p)
    p.add_argument("--workers", type=int, default=None, help="decoding processes (default: all cores)")
    p.set_defaults(func=cmd_prepare)

    envs = ", ".join(f"{name}: {s.env}" for name, s in SOURCES.items())
    p = subparsers.add_parser(
        "download",
        help="download CelebA, MNIST or LSUN (resumable, verified) and convert for prepare",
        description="Download a dataset into --out: resumable (a cut download continues from NAME.part), "
        "verified against known sizes and checksums, extracted safely. MNIST is converted to "
        "32×32 PNGs and LSUN's LMDB to image files; the command prints the `dcgan prepare` "
        f"line to run next. Mirrors: --mirror, or the environment ({envs}). A mirror is a base "
        "URL or folder the file name is appended to, or a template with {name} / {drive_id}. "
        "A file fetched by hand and saved under --out with its name is verified and used.",
    )
    p.add_argument("dataset", choices=("celeba", "mnist", "lsun"))
    p.add_argument("--out", type=Path, required=True, help="download folder (e.g. data/raw/celeba)")
    p.add_argument(
        "--category",
        default="bedroom",
        choices=LSUN_CATEGORIES,
        metavar="NAME",
        help=f"lsun: scene category, one of {', '.join(LSUN_CATEGORIES)} (default bedroom)",
    )
    p.add_argument("--subset", default="train", choices=("train", "val"), help="lsun: train or val set")
    p.add_argument("--limit", type=int, default=None, help="lsun: export only the first N images")
    p.add_argument("--mirror", default=None, help="base URL, folder or {name}/{drive_id} URL template")
    p.add_argument("--retries", type=int, default=5, help="resumes after cut connections (default 5)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds without data before a retry")
    p.set_defaults(func=cmd_download)

    p = subparsers.add_parser(
        "imagenet",
        help="prepare ImageNet classes from disk (train/<wnid>/*.JPEG)",
        description="ImageNet cannot be downloaded without an account: point SRC at your copy (the root with "
        "train/, or the train folder). Runs `prepare` on the chosen classes only.",
    )
    p.add_argument("src", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--classes", default=None, help="comma-separated WordNet ids, e.g. n01440764,n02102040 (default: every class)"
    )
    p.add_argument("--limit-per-class", type=int, default=None, help="at most N images of each class")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--crop", choices=("center", "none"), default="center")
    p.add_argument("--grayscale", action="store_true")
    p.add_argument("--split", help="train,val,test fractions, e.g. 0.9,0.05,0.05")
    add_split_seed(p)
    p.add_argument("--workers", type=int, default=None, help="decoding processes (default: all cores)")
    p.set_defaults(func=cmd_imagenet)

    p = subparsers.add_parser(
        "faces",
        help="detect, align and crop every face in a folder of photos",
        description="Detects every face (MTCNN), aligns it on the eyes (level, fixed eye distance and place: "
        "the DCGAN CelebA framing), crops, resizes and writes OUT/*.png plus OUT/faces.json. Small, "
        "low-score and near-duplicate faces and unreadable files are skipped and counted.",
    )
    p.add_argument("src", type=Path, help="folder (or .tar) of photos")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--size", type=int, default=64, help="output side in pixels")
    p.add_argument(
        "--margin",
        type=float,
        default=0.0,
        help="grow the crop by this fraction of its side on every side (0: CelebA/DCGAN framing)",
    )
    p.add_argument("--min-face", type=int, default=40, help="skip faces smaller than this (pixels of the photo)")
    p.add_argument("--min-score", type=float, default=0.9, help="skip detections scored below this")
    p.add_argument(
        "--dup-distance",
        type=int,
        default=4,
        help="skip crops within this pHash Hamming distance of a kept crop (-1: keep duplicates)",
    )
    p.add_argument(
        "--max-outside", type=float, default=0.1, help="skip crops with more than this fraction outside the photo"
    )
    p.add_argument("--format", choices=("png", "jpg"), default="png", help="png, or jpg at quality 95")
    p.add_argument("--threads", type=int, default=None, help="TensorFlow threads for the detector")
    p.add_argument("--force", action="store_true", help="replace an existing --out folder")
    p.set_defaults(func=cmd_faces)

    p = subparsers.add_parser(
        "crawl",
        help="download face photos from web pages (polite, resumable) into a folder `dcgan faces` reads",
        description="Downloads images (JPEG, PNG, WebP, GIF's first frame) from a list of URLs (--urls) or from "
        "start pages and the same-site pages they link to (--start, --depth) into --out, with OUT/crawl.json: "
        "each image's URL, page, time, HTTP status and licence hint, and every skipped URL with its reason. "
        "Obeys robots.txt, waits at least 1/--rate s between requests to a host (AutoThrottle slows down more), "
        "retries with backoff, caps sizes, reads every image from its bytes, keeps one copy of duplicates and "
        "refuses file:// and private or local addresses. Interrupted (Ctrl-C, or killed), the same command "
        "continues it. You are responsible for having the rights to what you crawl.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--urls", type=Path, help="file of image or page URLs, one a line (pages are not followed)")
    source.add_argument("--start", nargs="+", metavar="URL", help="start pages; same-site links are followed")
    p.add_argument("--out", type=Path, required=True, help="folder for the images, crawl.json and the crawl state")
    p.add_argument("--depth", type=int, default=1, help="links followed from a start page (default 1)")
    p.add_argument("--allow", action="append", default=[], metavar="REGEX", help="follow only pages matching one")
    p.add_argument("--deny", action="append", default=[], metavar="REGEX", help="never fetch pages or images matching")
    p.add_argument("--user-agent", default=None, help="User-Agent (default names dcgan-crawl; add a contact)")
    p.add_argument("--rate", type=float, default=1.0, help="requests per second per host, at most (default 1)")
    p.add_argument("--max-file-mb", type=float, default=20.0, help="larger downloads are cancelled (default 20)")
    p.add_argument("--max-total-mb", type=float, default=2000.0, help="stop after fetching this much (default 2000)")
    p.add_argument("--min-side", type=int, default=64, help="skip images with a side below this (default 64 px)")
    p.add_argument(
        "--dup-distance",
        type=int,
        default=4,
        help="the same picture at another size: pHash within this Hamming distance; the largest is kept "
        "(-1: only identical files are duplicates)",
    )
    p.add_argument(
        "--allow-private",
        action="append",
        nargs="?",
        const="*",
        default=[],
        metavar="HOST",
        help="allow this private or local host (repeatable; alone: any), e.g. a site on 127.0.0.1",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    p.add_argument("--retries", type=int, default=2, help="retries of a failed or 5xx request (default 2)")
    p.add_argument("--backoff", type=float, default=1.0, help="seconds before the first retry, doubled after")
    p.add_argument("--max-redirects", type=int, default=5, help="redirects followed per request (default 5)")
    p.add_argument("--faces", action="store_true", help="then run `dcgan faces` on the images into OUT/faces")
    p.add_argument("--face-size", type=int, default=64, help="side of the aligned faces with --faces")
    p.add_argument("--verbose", action="store_true", help="Scrapy's log at INFO level")
    p.set_defaults(func=cmd_crawl)

    p = subparsers.add_parser("datasets", help="list the prepared caches under a folder")
    p.add_argument("--root", type=Path, default=Path("data"))
    p.set_defaults(func=cmd_datasets)
