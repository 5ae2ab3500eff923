"""Coordinates: the UTM zone of the photos and a local origin that keeps numbers small for SfM."""
from pyproj import CRS, Transformer


def utm_epsg(lat, lon):
    """EPSG code of the WGS84 UTM zone containing (lat, lon)."""
    zone = int((lon + 180) // 6) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


class LocalFrame:
    """A UTM zone with an origin: local x/y/z = UTM easting/northing/altitude minus the origin."""

    def __init__(self, epsg, origin):
        self.epsg = int(epsg)
        self.origin = tuple(float(v) for v in origin)
        self._to_utm = Transformer.from_crs(4326, self.epsg, always_xy=True)
        self._to_wgs84 = Transformer.from_crs(self.epsg, 4326, always_xy=True)

    @property
    def crs(self):
        """The UTM zone as a pyproj CRS."""
        return CRS.from_epsg(self.epsg)

    def local_from_wgs84(self, lat, lon, alt):
        """Local coordinates of a WGS84 position (numpy arrays welcome)."""
        e, n = self._to_utm.transform(lon, lat)
        return e - self.origin[0], n - self.origin[1], alt - self.origin[2]

    def wgs84_from_local(self, x, y, z):
        """(lat, lon, alt) of local coordinates."""
        lon, lat = self._to_wgs84.transform(x + self.origin[0], y + self.origin[1])
        return lat, lon, z + self.origin[2]

    def to_dict(self):
        """JSON form."""
        return {"epsg": self.epsg, "origin": list(self.origin)}

    @classmethod
    def from_dict(cls, data):
        """Inverse of to_dict."""
        return cls(data["epsg"], data["origin"])
