#!/usr/bin/env bash
# ladder.sh — the transcode itself, side by side on a content set: five
# generated 1080p30 sources of different character (VTP_BENCH_SECONDS each,
# default 20; made again only when missing, from lavfi sources, so the set
# is the same on every machine):
#   talking   low motion: slow gradients, light sensor noise
#   motion    high motion: the moving test pattern with noise
#   grain     heavy film-like grain over slow gradients
#   screen    screen content: sharp edges, flat areas, digits
#   animation flat colour: a zooming fractal in bands
# per clip and in total:
#  (a) vtp-transcode vs the ffmpeg CLI doing the same one-process ladder with
#      the same settings (split -> scale -> libx264 per rung), on the first
#      clip only;                                                goal <= 1.03
#  (b) vtp vs the peer default exactly as users run it, three separate
#      `ffmpeg -i SRC -vf scale=W:H -c:v libx264 -preset medium -crf 23
#       -c:a aac -b:a 128k -movflags +faststart OUT` with nothing added:
#      CPU (goal <= 0.50 of the peer's), VMAF per rung (within 1 point;
#      libvmaf from the npm static FFmpeg and shared/vmaf) and bytes
#      (goal <= 1.0 of the peer's)
# CPU seconds are user+sys of the whole process tree, from bash's `time`;
# VTP_BENCH_REPS runs of each, interleaved, the median shown with every run.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${VTP_BENCH_DIR:-/tmp/vtp-bench}/ladder
SECS=${VTP_BENCH_SECONDS:-20}
REPS=${VTP_BENCH_REPS:-2}
CLIPS=${VTP_BENCH_CLIPS:-talking motion grain screen animation}
HELPER=$(pg_config --pkglibdir)/vtp-transcode
VMAF_FFMPEG=test/bench/node_modules/@ffmpeg-installer/linux-x64/ffmpeg
MODEL=$(cd .. && pwd)/shared/vmaf/vmaf_v0.6.1.pkl
PRESET=$(sed -n 's/^\topt.preset = "\(.*\)";/\1/p' transcoder/main.c)
CRF=$(sed -n 's/^\topt.crf = \(.*\);/\1/p' transcoder/main.c)
HD_PRESET=$(sed -n 's/^\topt.hd_preset = "\(.*\)";/\1/p' transcoder/main.c)
HD_CRF=$(sed -n 's/^\topt.hd_crf = \(.*\);/\1/p' transcoder/main.c)
mkdir -p "$DIR"
(cd test/bench && [ -x node_modules/@ffmpeg-installer/linux-x64/ffmpeg ] || npm ci --no-audit --no-fund --loglevel=error)

# lavfi source of each clip
clip_filter() {
  case $1 in
    talking) echo "gradients=s=1920x1080:r=30:speed=0.002:seed=7,noise=alls=1:allf=t" ;;
    motion) echo "testsrc2=size=1920x1080:rate=30,noise=alls=10:allf=t+u" ;;
    grain) echo "gradients=s=1920x1080:r=30:speed=0.004:seed=11,noise=alls=12:allf=t+u" ;;
    screen) echo "testsrc=size=1920x1080:rate=30" ;;
    animation) echo "mandelbrot=s=1920x1080:r=30:maxiter=200:outer=normalized_iteration_count" ;;
    *) echo "ladder.sh: unknown clip $1" >&2; return 1 ;;
  esac
}

# make CLIP's source once: 20 Mb/s H.264 like a phone's, AAC audio
make_source() {
  local out="$DIR/src-$1.mp4" f
  [ -s "$out" ] && [ "$(cat "$out.secs" 2>/dev/null)" = "$SECS" ] && return 0
  f=$(clip_filter "$1")
  echo "== generating the ${SECS} s 1080p30 source \"$1\""
  ffmpeg -nostdin -v error -y -f lavfi -i "$f" -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$SECS" \
    -c:v libx264 -preset fast -b:v 20M -maxrate 20M -bufsize 40M -pix_fmt yuv420p -c:a aac -b:a 192k -shortest "$out"
  echo "$SECS" >"$out.secs"
}

# cpu CMD...: run, print "user+sys wall"
cpu() {
  local TIMEFORMAT='%U %S %R' t
  t=$( { time "$@" >/dev/null 2>"$DIR/last.err"; } 2>&1 ) || { cat "$DIR/last.err"; return 1; }
  awk '{printf "%.2f %.2f\n", $1 + $2, $3}' <<<"$t"
}

ladder_args=()
for r in "480 854 1500k 3000k" "720 1280 4000k 8000k" "1080 1920 7800k 15600k"; do
  read -r h w max buf <<<"$r"
  p=$PRESET; c=$CRF
  [ "$h" -ge 1080 ] && p=$HD_PRESET c=$HD_CRF
  ladder_args+=(-map "[o$h]" -map 0:a -c:v libx264 -preset "$p" -crf "$c" -profile:v high -pix_fmt yuv420p
    -maxrate "$max" -bufsize "$buf" -g 60 -keyint_min 60 -sc_threshold 0 -x264-params scenecut=0:open-gop=0
    -c:a aac -b:a 128k -ar 48000 -ac 2 -movflags +faststart -map_metadata -1 "$DIR/cli-${h}p.mp4")
done
graph="[0:v]fps=30,split=3[s0][s1][s2];[s0]scale=854:480,setsar=1,format=yuv420p[o480];[s1]scale=1280:720,setsar=1,format=yuv420p[o720];[s2]scale=1920:1080,setsar=1,format=yuv420p[o1080]"

peer() {
  for r in "480 854" "720 1280" "1080 1920"; do
    read -r h w <<<"$r"
    ffmpeg -nostdin -v error -y -i "$SRC" -vf "scale=$w:$h" -c:v libx264 -preset medium -crf 23 \
      -c:a aac -b:a 128k -movflags +faststart "$DIR/peer-${h}p.mp4" || return 1
  done
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

vmaf() { # distorted width height -> score
  "$VMAF_FFMPEG" -nostdin -hide_banner -i "$1" -i "$SRC" -lavfi \
    "[0:v]setpts=PTS-STARTPTS[d];[1:v]scale=$2:$3:flags=bicubic,setpts=PTS-STARTPTS[r];[d][r]libvmaf=model_path=$MODEL:n_threads=2:n_subsample=3" \
    -f null - 2>&1 | sed -n 's/.*VMAF score: \([0-9.]*\).*/\1/p'
}
HAVE_VMAF=0
[ -x "$VMAF_FFMPEG" ] && [ -f "$MODEL" ] && HAVE_VMAF=1

echo "== ladder on the content set ($CLIPS): $SECS s 1080p30 each, x264 $PRESET crf $CRF below 1080p, $HD_PRESET crf $HD_CRF at 1080p; $REPS runs each, interleaved"
[ "$HAVE_VMAF" = 1 ] || echo "  (no VMAF: $VMAF_FFMPEG or $MODEL missing)"
TV=0; TP=0; TVB=0; TPB=0; first=1
for clip in $CLIPS; do
  make_source "$clip"
  SRC="$DIR/src-$clip.mp4"
  rm -rf "$DIR/vtp"; mkdir -p "$DIR/vtp"
  vtp_cpu=(); cli_cpu=(); peer_cpu=()
  for i in $(seq 1 "$REPS"); do
    read -r c w < <(cpu "$HELPER" --input "$SRC" --outdir "$DIR/vtp" --renditions 480p,720p,1080p); vtp_cpu+=("$c")
    if [ "$first" = 1 ]; then
      read -r c w < <(cpu ffmpeg -nostdin -v error -y -i "$SRC" -filter_complex "$graph" "${ladder_args[@]}"); cli_cpu+=("$c")
    fi
    read -r c w < <(cpu peer); peer_cpu+=("$c")
  done
  V=$(median "${vtp_cpu[@]}"); P=$(median "${peer_cpu[@]}")
  echo "-- $clip"
  awk -v v="$V" -v p="$P" -v vs="${vtp_cpu[*]}" -v ps="${peer_cpu[*]}" 'BEGIN {
    printf "  vtp-transcode ladder:            %6.1f CPU s (runs: %s)\n", v, vs
    printf "  peer default, 3 x ffmpeg:        %6.1f CPU s (runs: %s)\n", p, ps
    printf "  (b) vtp / peer CPU:               %.3f (goal <= 0.50)\n", v / p
  }'
  if [ "$first" = 1 ]; then
    C=$(median "${cli_cpu[@]}")
    awk -v v="$V" -v c="$C" -v cs="${cli_cpu[*]}" 'BEGIN {
      printf "  ffmpeg CLI, same ladder:         %6.1f CPU s (runs: %s)\n", c, cs
      printf "  (a) vtp / ffmpeg CLI same ladder: %.3f (goal <= 1.03)\n", v / c }'
    first=0
  fi
  vb=0; pb=0
  for r in "480 854" "720 1280" "1080 1920"; do
    read -r h w <<<"$r"
    x=$(stat -c %s "$DIR/vtp/${h}p.mp4"); y=$(stat -c %s "$DIR/peer-${h}p.mp4")
    vb=$((vb + x)); pb=$((pb + y))
    a=-; b=-
    if [ "$HAVE_VMAF" = 1 ]; then a=$(vmaf "$DIR/vtp/${h}p.mp4" "$w" "$h"); b=$(vmaf "$DIR/peer-${h}p.mp4" "$w" "$h"); fi
    awk -v h="$h" -v a="$a" -v b="$b" -v x="$x" -v y="$y" 'BEGIN {
      if (a == "-") printf "    %5sp  bytes %d vs %d (%.2fx)\n", h, x, y, x / y
      else printf "    %5sp  VMAF vtp %.2f vs peer %.2f (diff %+.2f)   bytes %d vs %d (%.2fx)\n", h, a, b, a - b, x, y, x / y }'
  done
  awk -v x="$vb" -v y="$pb" 'BEGIN { printf "  ladder bytes vtp / peer: %.3f (goal <= 1.0)\n", x / y }'
  TV=$(awk -v a="$TV" -v b="$V" 'BEGIN {print a + b}'); TP=$(awk -v a="$TP" -v b="$P" 'BEGIN {print a + b}')
  TVB=$((TVB + vb)); TPB=$((TPB + pb))
done
echo "-- the whole set"
awk -v v="$TV" -v p="$TP" -v x="$TVB" -v y="$TPB" 'BEGIN {
  printf "  CPU s vtp %.1f vs peer %.1f: %.3f (goal <= 0.50)\n", v, p, v / p
  printf "  bytes vtp %d vs peer %d: %.3f (goal <= 1.0)\n", x, y, x / y }'
