// Bright and awake while the sampler scans: ask the screen to stay on where the browser allows it.
if (navigator.wakeLock) {
  navigator.wakeLock.request("screen").catch(function () {});
}
