"""relais.xlsx end to end: a plugin route (tests/integration/plugins/sheets)
makes a workbook with libxlsxwriter and serves it; the file is read back
with Python's zipfile and xml.etree (every part must be well-formed XML):
the sheets, the cells (shared strings, numbers, booleans, formats), the
bar chart beside its table and the ranges it plots. A route that fails
half-way answers 500 and leaves no temporary file behind."""
import io
import os
import tempfile
import zipfile
import xml.etree.ElementTree as ET

from harness import Relais, run, SRC

FIXTURES = os.path.join(SRC, "tests", "integration", "plugins")
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "pr": "http://schemas.openxmlformats.org/package/2006/relationships"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def fresh(r, tmp):
    r.stop()
    r.cleanup()
    r.__init__(extra_config='plugins_dir = "%s"\nplugins = {"sheets"}\n' % FIXTURES)
    r.env = dict(os.environ, TMPDIR=tmp)
    r.start()


def workbook(data):
    """{part name: parsed XML} of every XML part of the zip DATA."""
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.testzip() is None
    parts = {}
    for name in z.namelist():
        if name.endswith(".xml") or name.endswith(".rels"):
            parts[name] = ET.fromstring(z.read(name))     # raises if not well-formed
    return parts


def cells(parts, sheet_file):
    """{"A1": value} of a sheet: text through the shared strings."""
    strings = [''.join(t.text or '' for t in si.iter("{%s}t" % NS["m"]))
               for si in parts["xl/sharedStrings.xml"].findall("m:si", NS)]
    out = {}
    for c in parts[sheet_file].iter("{%s}c" % NS["m"]):
        v = c.find("m:v", NS)
        if v is None:
            out[c.get("r")] = None
        elif c.get("t") == "s":
            out[c.get("r")] = strings[int(v.text)]
        elif c.get("t") == "b":
            out[c.get("r")] = v.text == "1"
        else:
            out[c.get("r")] = float(v.text)
    return out


def test_round_trip(r):
    with tempfile.TemporaryDirectory() as tmp:
        fresh(r, tmp)
        st, body, h = r.req_raw("GET", "/api/v1/test/workbook?text=%C3%89t%C3%A9%20%3C%26%3E")
        assert st == 200 and h["content-type"] == XLSX, (st, h)
        assert os.listdir(tmp) == [], os.listdir(tmp)
    parts = workbook(body)
    sheets = parts["xl/workbook.xml"].findall("m:sheets/m:sheet", NS)
    assert [s.get("name") for s in sheets] == ["Personnes", "Vide"], sheets
    got = cells(parts, "xl/worksheets/sheet1.xml")
    assert got["A1"] == "Tranche d'âge" and got["B1"] == "Personnes", got
    assert got["A2"] == "12-34" and got["B2"] == 231 and abs(got["C2"] - 0.33) < 1e-9, got
    assert got["A5"] == "Non renseigné" and got["B5"] == 21, got
    assert got["A6"] == "=1+1", got                      # text, not a formula
    assert parts["xl/worksheets/sheet1.xml"].find(".//m:f", NS) is None
    assert got["A7"] == "Été <&>", got
    other = cells(parts, "xl/worksheets/sheet2.xml")
    assert other == {"A1": 3.25, "A2": False}, other
    # The percent format and the bold header are styles of their own.
    styles = parts["xl/styles.xml"]
    assert any(f.get("formatCode") == "0.0%" for f in styles.iter("{%s}numFmt" % NS["m"]))
    assert any(True for _ in styles.iter("{%s}b" % NS["m"]))
    # The chart: a bar chart placed on the first sheet (its drawing), with
    # the title, the categories and the values of the table beside it.
    rels = parts["xl/worksheets/_rels/sheet1.xml.rels"]
    targets = [x.get("Target") for x in rels.findall("pr:Relationship", NS)]
    assert "../drawings/drawing1.xml" in targets, targets
    chart = parts["xl/charts/chart1.xml"]
    bar = chart.find(".//c:barChart", NS)
    assert bar is not None and bar.find("c:barDir", NS).get("val") == "bar"
    assert chart.find(".//c:cat//c:f", NS).text == "Personnes!$A$2:$A$5"
    assert chart.find(".//c:val//c:f", NS).text == "Personnes!$B$2:$B$5"
    title = ''.join(t.text or '' for t in chart.find("c:chart/c:title", NS).iter(
        "{http://schemas.openxmlformats.org/drawingml/2006/main}t"))
    assert title == "Personnes par âge", title
    # Categories read top-down, as in the table.
    orient = [a.find("c:scaling/c:orientation", NS).get("val")
              for a in chart.iter("{%s}catAx" % NS["c"])]
    assert orient == ["maxMin"], orient
    content_types = parts["[Content_Types].xml"]
    assert any(o.get("PartName") == "/xl/charts/chart1.xml" for o in content_types)


def test_failure_leaves_nothing(r):
    with tempfile.TemporaryDirectory() as tmp:
        fresh(r, tmp)
        st, body, _ = r.req("GET", "/api/v1/test/broken")
        assert st == 500, (st, body)
        # The state goes on, and the workbook the route left open is
        # collected with its file.
        st, body, _ = r.req_raw("GET", "/api/v1/test/workbook")
        assert st == 200 and body[:4] == b"PK\x03\x04"
        r.stop()
        assert os.listdir(tmp) == [], os.listdir(tmp)
    assert "row must be a whole number" in r.read_log(), r.read_log()[-2000:]


if __name__ == "__main__":
    run(globals())
