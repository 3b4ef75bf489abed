import pytest
pytestmark = [pytest.mark.browser, pytest.mark.no_db_transaction]

def test_debug(phone):
    page = phone.page
    for css in [".field { min-width: 0; }", "input[type=file] { width: 100%; }"]:
        phone.goto("/lapor")
        page.add_style_tag(content=css)
        page.evaluate("() => { const d = document.createElement('form'); d.className='stack'; d.innerHTML = '<div class=field><label>x</label><input type=file name=photo></div>'; document.querySelector('main').appendChild(d); }")
        print(css, phone.horizontal_overflow(), phone.too_wide())
