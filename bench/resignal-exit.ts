/**
 * Preloaded (`node -r`) into a worker child that runs under --cpu-prof. Nest's shutdown hooks
 * re-raise SIGTERM on the process after draining, which would kill it by signal before V8
 * writes the profile. This listener stays registered: the first SIGTERM is left to the app,
 * the re-raised one exits normally so the .cpuprofile is written.
 */
let seen = 0;
process.on('SIGTERM', () => {
  seen += 1;
  if (seen > 1) process.exit(0);
});
