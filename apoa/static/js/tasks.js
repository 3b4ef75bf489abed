// "Sort by distance from me" on /tugas-saya: asks the browser for the officer's location and
// reloads the list with it in the address (lat, lon). Rounded to 3 decimals (about 100 m): enough
// to order the day's visits, and no more precise a trace of the officer in any log. Without
// JavaScript, or when the location is refused, the list stays sorted by due time.
(function () {
  "use strict";
  var button = document.getElementById("sort-by-distance");
  if (!button || !("geolocation" in navigator)) { return; }
  var status = document.getElementById("location-status");
  button.hidden = false;
  button.addEventListener("click", function () {
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (position) {
      var url = new URL(button.dataset.url, window.location.href);
      url.searchParams.set("lat", position.coords.latitude.toFixed(3));
      url.searchParams.set("lon", position.coords.longitude.toFixed(3));
      window.location.assign(url.toString());
    }, function () {
      button.disabled = false;
      status.textContent = button.dataset.refused;
    }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 });
  });
}());
