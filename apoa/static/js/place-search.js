// The place search above a map: a kecamatan, kabupaten/kota or province name (typos allowed,
// apoa/maps/places.py) and the map moves there. The box comes from the template in
// templates/maps/_place_search.html; map-common.js (loaded first) tells which maps the page has.
(function () {
  "use strict";

  var template = document.getElementById("place-search-template");
  if (!template || !window.ApoaMaps || !window.ApoaMaps.common) { return; }
  var common = window.ApoaMaps.common;
  var texts = template.dataset;
  var attached = false;

  // One search box per page, for its first map (the pages have one).
  common.eachMap(function (map) {
    if (attached) { return; }
    attached = true;
    attach(map);
  });

  function attach(map) {
    var box = template.content.firstElementChild.cloneNode(true);
    var container = map.getContainer();
    container.parentNode.insertBefore(box, container);
    var input = box.querySelector("input");
    var status = box.querySelector("[role=status]");
    var list = box.querySelector(".place-search-results");
    var load = common.loader(texts.url);

    function search() {
      var query = input.value.trim();
      if (!query) { return; }
      say(texts.searching);
      load({ q: query }).then(function (answer) {
        show(answer.places || []);
      }, function (error) {
        list.hidden = true;
        say(error.message || texts.failed);
      });
    }

    function show(places) {
      list.textContent = "";
      list.hidden = places.length === 0;
      if (!places.length) {
        say(texts.none);
        return;
      }
      say("");
      places.forEach(function (place) { list.appendChild(choice(place)); });
      // A single answer needs no choosing.
      if (places.length === 1) { moveTo(places[0]); }
    }

    function choice(place) {
      var item = common.element("li");
      var button = common.element("button", "place-search-choice");
      button.type = "button";
      button.appendChild(common.element("span", "place-name", place.name));
      button.appendChild(common.element("span", "place-where",
        [place.level_title].concat(place.parents).join(" · ")));
      button.addEventListener("click", function () { moveTo(place); });
      item.appendChild(button);
      return item;
    }

    function moveTo(place) {
      var b = place.bbox;
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
      list.hidden = true;
      say((texts.moved || "{place}").replace("{place}", place.name));
    }

    function say(text) {
      status.textContent = text || "";
    }

    box.querySelector(".place-search-go").addEventListener("click", search);
    // Inside the report form, Enter must search, not send the report.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        search();
      }
    });
  }
}());
