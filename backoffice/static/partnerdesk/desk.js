/* The Desk's date pickers in the UI language: FAB's ab.js sets every picker to yyyy-mm-dd;
   a field rendered by backoffice/views/localized.py says its own format and language. */
(function ($) {
    if (!$ || !$.fn.datepicker) { return; }
    $.fn.datepicker.dates.de = {
        days: ["Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"],
        daysShort: ["So", "Mo", "Di", "Mi", "Do", "Fr", "Sa"],
        daysMin: ["So", "Mo", "Di", "Mi", "Do", "Fr", "Sa"],
        months: ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
                 "September", "Oktober", "November", "Dezember"],
        monthsShort: ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"],
        today: "Heute", clear: "Löschen", monthsTitle: "Monate", weekStart: 1, format: "dd.mm.yyyy"
    };
    function localPicker(element) {
        var $el = $(element);
        $el.datepicker("destroy");
        $el.datepicker({
            format: $el.data("localFormat") || "yyyy-mm-dd",
            language: $el.data("localLanguage") || "en",
            weekStart: $el.data("localLanguage") === "de" ? 1 : 0,
            autoclose: true, todayHighlight: true, forceParse: false
        });
    }
    $(function () {
        $(".local_date").each(function () { localPicker(this); });
        // FAB's search filters add their fields later, from the search form's widgets.
        $(document).on("focus", ".local_date input", function () {
            var $picker = $(this).closest(".local_date");
            if (!$picker.data("localReady")) { $picker.data("localReady", true); localPicker($picker); }
        });
    });
}(window.jQuery));

/* Lists fit the window: a cell holding one long word (an e-mail address, a long compound
   name) may break inside it; numbers and short words stay whole. */
(function () {
    function markLongWords() {
        document.querySelectorAll(".table-responsive td, table.table td").forEach(function (cell) {
            if (/\S{22,}/.test(cell.textContent)) { cell.classList.add("long-word"); }
        });
    }
    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", markLongWords);
    } else {
        markLongWords();
    }
}());
