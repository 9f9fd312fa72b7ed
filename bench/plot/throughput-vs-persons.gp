# The most sanhe sustained (steps that kept up) against the roster size,
# with the ceilings measured in the same run.
#   gnuplot -e "data='tp.dat'; out='x.png'" throughput-vs-persons.gp
# tp.dat: persons settles_per_s requests_per_s lmdb_commit_writes_per_s tls_echo_per_s
#         bounded_settles_per_s (the best step with p99 <= 100 ms; 0: none)
set terminal pngcairo size 900,650 noenhanced
set output out
set title "Maximum sustained throughput against the roster size"
set xlabel "persons in the roster (log)"
set ylabel "per second (log)"
set logscale x
set xrange [3000:30000000]
set logscale y
set yrange [1000:*]
set grid
set key below
set format x "%.0s%c"
set format y "%.0s%c"
plot data using 1:5 with linespoints lc 4 dt 2 pt 4 title "tls_echo (requests/s)", \
     data using 1:4 with linespoints lc 3 dt 2 pt 6 title "lmdb_commit (writes/s, same batch)", \
     data using 1:3 with linespoints lc 2 pt 5 title "sanhe requests/s", \
     data using 1:2 with linespoints lc 1 pt 7 lw 2 title "sanhe durable settles/s", \
     data using 1:($6 > 0 ? $6 : NaN) with linespoints lc 1 dt 3 pt 7 lw 2 \
          title "sanhe durable settles/s, p99 <= 100 ms"
