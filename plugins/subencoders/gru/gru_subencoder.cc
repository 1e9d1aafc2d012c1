// The GRU twin of UER-py's LstmSubencoder: UER-py's seed lists --subencoder gru but has no class for
// it (its builder fails); this one mirrors lstm (keys subencoder.embedding_layer, subencoder.rnn).
#include "plugins/layers/rnn_subencoder.h"

namespace uer::subencoders {
namespace {

class GruSubencoderFactory : public RnnSubencoderFactory<torch::nn::GRU, torch::nn::GRUOptions> {
 public:
  GruSubencoderFactory() : RnnSubencoderFactory("gru", "GRU over the characters, averaged (beyond UER-py's seed)") {}
};

}  // namespace
}  // namespace uer::subencoders

UER_REGISTER_FACTORY(uer::subencoders::GruSubencoderFactory);
