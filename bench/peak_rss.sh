#!/bin/bash
# bench/peak_rss.sh OUTFILE -- CMD...: run CMD; every 0.5 s sample the RSS of the JVMs and the Python
# processes under it; print the peak of the JVM, of one Python worker, of the driver's Python (CMD
# itself) and of their sum, in MiB (README, "Skewed inputs").
out=$1; shift; shift
"$@" & pid=$!
maxj=0; maxp=0; maxsum=0; maxd=0
desc() { local p=$1; echo $p; for c in $(cat /proc/$p/task/*/children 2>/dev/null); do desc $c; done; }
while kill -0 $pid 2>/dev/null; do
  sj=0; sp=0
  for p in $(desc $pid); do
    r=$(awk '/VmRSS/{print $2}' /proc/$p/status 2>/dev/null); [ -z "$r" ] && continue
    c=$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null)
    case "$c" in *java*) [ $r -gt $maxj ] && maxj=$r; sj=$((sj+r));; *python*) [ $p = $pid ] && [ $r -gt $maxd ] && maxd=$r; [ $p != $pid ] && { [ $r -gt $maxp ] && maxp=$r; sp=$((sp+r)); };; esac
  done
  [ $((sj+sp)) -gt $maxsum ] && maxsum=$((sj+sp))
  sleep 0.5
done
wait $pid; rc=$?
echo "rc=$rc max_jvm_MiB=$((maxj/1024)) max_one_python_worker_MiB=$((maxp/1024)) driver_python_MiB=$((maxd/1024)) max_tree_sum_MiB=$((maxsum/1024))" | tee $out
