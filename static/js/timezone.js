// Tells the portal the browser's time zone (a cookie read by seats.timezones), so that times are
// shown in it unless the person chose another on *Time zone*. When the page was written in
// another zone than the browser's, and the person chose none, the page is loaded once more.
(function () {
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  // IANA names (Europe/Paris, America/Argentina/Buenos_Aires) need no escaping in a cookie.
  if (!zone || !/^[A-Za-z0-9_+\/-]+$/.test(zone)) return;
  var name = "portal_tz";
  var current = (document.cookie.match(/(?:^|; )portal_tz=([^;]*)/) || [])[1];
  if (current === zone) return;
  var secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = name + "=" + zone + "; path=/; max-age=31536000; SameSite=Lax" + secure;
  var root = document.documentElement;
  var stored = (document.cookie.match(/(?:^|; )portal_tz=([^;]*)/) || [])[1];
  var follows = root.dataset.timeZoneSource !== "user";
  if (stored && follows && root.dataset.timeZone !== zone && document.querySelector("time")) {
    location.reload();
  }
})();
