# bench/workloads.sh: the data every bench moves (sourced by run.sh and
# s3.sh): make_workload NAME DIR makes DIR/NAME, each file's bytes fixed by
# its seed, every size divided by $scale.
#   big     one 256 MiB file
#   ten     10 x 32 MiB
#   small   20,000 x 4 KiB in 400 directories
#   mixed   128 MiB, 50 x 2 MiB and 5,000 x 8 KiB
#   text    8 x 8 MiB of CSV-like lines (compressible)
scale=${scale:-1}

# Deterministic contents: AES-CTR of zeros, keyed by the file's number.
gen() {   # gen FILE BYTES SEED
	head -c "$2" /dev/zero | openssl enc -aes-128-ctr -nosalt \
		-K 000102030405060708090a0b0c0d0e0f -iv "$(printf '%032x' "$3")" > "$1"
}
# Cut a stream into files: cut_files DIR SIZE PATH... (paths under DIR).
cut_files() {
	python3 -c '
import os, sys
d, size = sys.argv[1], int(sys.argv[2])
for p in sys.argv[3:]:
    path = os.path.join(d, p)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(sys.stdin.buffer.read(size))
' "$@"
}
make_workload() {   # make_workload NAME DIR
	local d=$2/$1 i j k n
	mkdir -p "$d"
	case $1 in
	big) gen "$d/one" $((268435456 / scale)) 1 ;;
	ten) for i in $(seq 1 10); do gen "$d/f$i" $((33554432 / scale)) $i; done ;;
	small)
		n=$((50 / scale > 0 ? 50 / scale : 1))
		gen /dev/stdout $((400 * n * 4096)) 2 | cut_files "$d" 4096 $(
			for i in $(seq 1 20); do for j in $(seq 1 20); do for k in $(seq 1 $n); do
				echo "a$i/b$j/f$k"; done; done; done) ;;
	mixed)
		gen "$d/big" $((134217728 / scale)) 1
		mkdir -p "$d/mid"
		for i in $(seq 1 50); do gen "$d/mid/m$i" $((2097152 / scale)) $((i + 10)); done
		n=$((100 / scale > 0 ? 100 / scale : 1))
		gen /dev/stdout $((50 * n * 8192)) 3 | cut_files "$d" 8192 $(
			for i in $(seq 1 50); do for k in $(seq 1 $n); do echo "small/s$i/f$k"; done; done) ;;
	text)
		# Compressible: 8 files of CSV-like lines (gzip -1 takes them to 45%).
		python3 - "$d" $((8388608 / scale)) <<'PY'
import os, random, sys
d, size = sys.argv[1], int(sys.argv[2])
r = random.Random(7)
words = "temperature pressure velocity density sample run step node rank error".split()
for i in range(8):
    with open(os.path.join(d, "log%d.csv" % i), "w") as f:
        n = 0
        while n < size:
            line = "%d,%s,%.6f,%.6f\n" % (r.randrange(10**6), r.choice(words),
                                         r.random() * 1000, r.gauss(0, 1))
            f.write(line)
            n += len(line)
PY
		;;
	esac
}
